using StudentPerformance.Deployer.Admin;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.Deployer.Rollout;

namespace StudentPerformance.Deployer.Tests.Admin;

/// <summary>The warnings and the live picture /status (and so the dashboard and <c>Deployer status</c>) show.</summary>
public class StatusReportTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly StatusSnapshot Healthy = new("reg/app:latest", "Deploy", false, "sha256:live", "predictor-blue", "sha256:live", T0, "up to date", null, null) { LiveHardened = true };
    private static readonly StrategyStatus BlueGreen = new("BlueGreen", "blue", null, null, new EdgeStatus(true, []));

    [Fact]
    public void Warnings_HealthyDeployer_None() =>
        Assert.Empty(StatusReport.Warnings(Healthy, new DeployerState(), BlueGreen, null, 0));

    [Fact]
    public void Warnings_EveryProblem_OneWarningEachNamingIt()
    {
        var snapshot = Healthy with
        {
            Paused = true,
            LastError = "registry: 503",
            CrashLoop = new CrashLoopStatus("predictor-blue", 4, TimeSpan.FromMinutes(5), T0),
            DiskLow = true,
            DiskFreeBytes = 100L * 1024 * 1024,
            LiveHardened = false,
            LiveHardeningDifferences = ["Deployer:Container:Hardening:ReadOnlyRootFilesystem"],
        };
        var state = new DeployerState { Quarantined = [new QuarantineEntry("sha256:bad", "quality gate refused the image", T0, "r1")] };
        var edgeDown = BlueGreen with { Edge = new EdgeStatus(false, []) };

        var warnings = StatusReport.Warnings(snapshot, state, edgeDown, "/state/rollouts.json: disk full", StatusReport.RegistryFailuresWarning).ToList();

        Assert.Equal(["crash-loop", "low-disk", "edge-unreachable", "quarantined", "registry", "paused", "hardening", "history"], warnings.Select(w => w.Kind));
        Assert.Contains("restarted 4 times", warnings[0].Message, StringComparison.Ordinal);
        Assert.Contains("100 MiB", warnings[1].Message, StringComparison.Ordinal);
        Assert.Contains("sha256:bad", warnings[3].Message, StringComparison.Ordinal);
        Assert.Contains("quality gate refused the image", warnings[3].Message, StringComparison.Ordinal);
        Assert.Contains("registry: 503", warnings[4].Message, StringComparison.Ordinal);
        Assert.Contains("ReadOnlyRootFilesystem", warnings[6].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Warnings_RegistryFailuresBelowTheThreshold_None() =>
        Assert.Empty(StatusReport.Warnings(Healthy, new DeployerState(), BlueGreen, null, StatusReport.RegistryFailuresWarning - 1));

    [Fact]
    public void Live_DigestPlacedByAGatedRollout_TakesItsCandidatesVersionAndEnd()
    {
        var history = new[] { Entry("r2", "sha256:live", RolloutOutcome.Succeeded, T0, 40) };
        var gate = Report("r2", candidate: "v2", live: "v1");

        var live = StatusReport.Live(BlueGreen, Container("sha256:live", "2.0.0"), Healthy, history, gate);

        Assert.Equal(new LiveStatus("blue", "predictor-blue", "sha256:live", "v2", "2.0.0", T0.AddSeconds(40)), live);
    }

    [Fact]
    public void Live_CandidateBakingWithTheEdgeOnIt_IsTheCandidatesVersionAlready()
    {
        var history = new[] { new RolloutHistoryEntry("r2", "sha256:live", "new-digest", T0, []), Entry("r1", "sha256:old", RolloutOutcome.Succeeded, T0.AddHours(-1), 40) };
        var gate = Report("r2", candidate: "v2", live: "v1");

        var live = StatusReport.Live(BlueGreen, Container("sha256:live", null), Healthy, history, gate);

        Assert.Equal("v2", live.ModelVersion);
        Assert.Equal(T0.AddMinutes(-10), live.Since);
    }

    [Fact]
    public void Live_LastGateRefusedAnotherImage_TakesTheGatesLiveSideAndTheContainersStart()
    {
        var gate = Report("r3", candidate: "bad", live: "v1");

        var live = StatusReport.Live(BlueGreen, Container("sha256:live", null), Healthy, [], gate);

        Assert.Equal("v1", live.ModelVersion);
        Assert.Null(live.ImageVersion);
        Assert.Equal(T0.AddMinutes(-10), live.Since);
    }

    [Fact]
    public void Live_EngineDidNotAnswer_FallsBackToTheLastTick()
    {
        var live = StatusReport.Live(BlueGreen, null, Healthy, [], null);

        Assert.Equal(new LiveStatus("blue", "predictor-blue", "sha256:live", null, null, null), live);
    }

    private static RolloutHistoryEntry Entry(string id, string digest, RolloutOutcome outcome, DateTimeOffset started, int seconds) =>
        new(id, digest, "new-digest", started, [], outcome, "ok", TimeSpan.FromSeconds(seconds));

    private static QualityGateReport Report(string rolloutId, string candidate, string live) =>
        new(rolloutId, QualityGateReport.PassedResult, T0, 10, 200, "abc", new ModelQuality(candidate, 5, 4, 0.8, null, null), new ModelQuality(live, 5.1, 4, 0.8, null, null), null, [], []);

    private static ContainerInfo Container(string digest, string? version)
    {
        var labels = new Dictionary<string, string> { [ContainerLabels.Digest] = digest };
        if (version is not null)
        {
            labels["org.opencontainers.image.version"] = version;
        }

        return new ContainerInfo("id", "predictor-blue", "img", new ContainerState("running", true, false, 0, 0, T0.AddMinutes(-10)), labels, [], []);
    }
}
