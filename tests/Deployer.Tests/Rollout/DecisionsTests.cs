using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

public class DecisionsTests
{
    private const string Image = "127.0.0.1:5000/student-performance";
    private const string V1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    private const string V2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    [Fact]
    public void Repair_NameMissingAndPreviousExists_RestoresPrevious()
    {
        Assert.Equal(RepairAction.RestorePrevious, Decisions.Repair(null, Container("predictor-previous", running: false)));
    }

    [Fact]
    public void Repair_NameExitedAndPreviousExists_RestoresPrevious()
    {
        Assert.Equal(RepairAction.RestorePrevious, Decisions.Repair(Container("predictor", running: false), Container("predictor-previous", running: false)));
    }

    [Fact]
    public void Repair_NameExitedAndNoPrevious_StartsIt()
    {
        Assert.Equal(RepairAction.StartCurrent, Decisions.Repair(Container("predictor", running: false), null));
    }

    [Fact]
    public void Repair_NewRunsAndPreviousExists_FinishesTheInterruptedRollout()
    {
        Assert.Equal(RepairAction.FinishInterruptedRollout, Decisions.Repair(Container("predictor", running: true), Container("predictor-previous", running: false)));
    }

    [Fact]
    public void Repair_RunningAlone_DoesNothing()
    {
        Assert.Equal(RepairAction.None, Decisions.Repair(Container("predictor", running: true), null));
        Assert.Equal(RepairAction.None, Decisions.Repair(null, null));
    }

    [Fact]
    public void Rollout_LabelMatchesRegistry_IsUpToDate()
    {
        var decision = Decisions.Rollout(V1, Container("predictor", digestLabel: V1), Image, [], paused: false, DeployerMode.Deploy);

        Assert.Equal(RolloutAction.UpToDate, decision.Action);
    }

    [Fact]
    public void Rollout_RegistryMoved_Deploys()
    {
        var decision = Decisions.Rollout(V2, Container("predictor", digestLabel: V1), Image, [], paused: false, DeployerMode.Deploy);

        Assert.Equal(new RolloutDecision(RolloutAction.Deploy, V2), decision);
    }

    [Fact]
    public void Rollout_UnmanagedContainerRunsTheTrackedDigest_IsAdopted()
    {
        var handRun = Container("predictor", repoDigests: [$"{Image}@{V1}", $"other/repo@{V2}"]);

        var decision = Decisions.Rollout(V1, handRun, Image, [], paused: false, DeployerMode.Deploy);

        Assert.Equal(RolloutAction.Adopt, decision.Action);
    }

    [Fact]
    public void Rollout_UnmanagedContainerOfAnotherImage_Deploys()
    {
        var leftover = Container("predictor", repoDigests: [$"someone/else@{V2}"]);

        var decision = Decisions.Rollout(V1, leftover, Image, [], paused: false, DeployerMode.Deploy);

        Assert.Equal(RolloutAction.Deploy, decision.Action);
    }

    [Fact]
    public void Rollout_DigestQuarantined_IsNotRetried()
    {
        var decision = Decisions.Rollout(V2, Container("predictor", digestLabel: V1), Image, [V2], paused: false, DeployerMode.Deploy);

        Assert.Equal(RolloutAction.Quarantined, decision.Action);
    }

    [Fact]
    public void Rollout_Paused_DoesNotDeploy()
    {
        var decision = Decisions.Rollout(V2, Container("predictor", digestLabel: V1), Image, [], paused: true, DeployerMode.Deploy);

        Assert.Equal(RolloutAction.Paused, decision.Action);
    }

    [Fact]
    public void Rollout_MonitorMode_OnlyReports()
    {
        var decision = Decisions.Rollout(V2, Container("predictor", digestLabel: V1), Image, [], paused: false, DeployerMode.Monitor);

        Assert.Equal(RolloutAction.WouldDeploy, decision.Action);
    }

    [Fact]
    public void Rollout_SameDigestButContainerDown_DeploysAgain()
    {
        var decision = Decisions.Rollout(V1, Container("predictor", running: false, digestLabel: V1), Image, [], paused: false, DeployerMode.Deploy);

        Assert.Equal(RolloutAction.Deploy, decision.Action);
    }

    [Fact]
    public void Rollout_TagMissing_DoesNothing()
    {
        Assert.Equal(RolloutAction.NoImage, Decisions.Rollout(null, null, Image, [], paused: false, DeployerMode.Deploy).Action);
    }

    [Fact]
    public void StillQuarantined_TagMovedToAnotherDigest_EndsTheQuarantine()
    {
        QuarantineEntry[] entries = [new(V2, "gate failed", DateTimeOffset.UnixEpoch, "r1")];

        Assert.Empty(Decisions.StillQuarantined(entries, V1));
        Assert.Single(Decisions.StillQuarantined(entries, V2));
        Assert.Single(Decisions.StillQuarantined(entries, null));
    }

    [Fact]
    public void ImagesToPrune_FourImages_KeepsNewestTwoAndImagesInUse()
    {
        var t = DateTimeOffset.UnixEpoch;
        ImageInfo[] images =
        [
            new("id4", [$"{Image}:latest"], [$"{Image}@sha256:4"], t.AddHours(4), 1),
            new("id3", [], [$"{Image}@sha256:3"], t.AddHours(3), 1),
            new("id2", [], [$"{Image}@sha256:2"], t.AddHours(2), 1),
            new("id1", [$"{Image}:v1"], [$"{Image}@sha256:1"], t.AddHours(1), 1),
        ];

        var removed = Decisions.ImagesToPrune(images, keep: 2, imageIdsInUse: ["id1"], deployedNewestFirst: []);

        Assert.Equal([$"{Image}@sha256:2"], removed);
    }

    [Fact]
    public void ImagesToPrune_DeployOrderDiffersFromBuildOrder_KeepsTheLastDeployed()
    {
        var t = DateTimeOffset.UnixEpoch;
        ImageInfo[] images =
        [
            new("old-build", [], [$"{Image}@sha256:b"], t.AddHours(1), 1),
            new("new-build", [], [$"{Image}@sha256:c"], t.AddHours(3), 1),
            new("mid-build", [], [$"{Image}@sha256:a"], t.AddHours(2), 1),
        ];

        var removed = Decisions.ImagesToPrune(images, keep: 2, imageIdsInUse: [], deployedNewestFirst: ["sha256:a", "sha256:b", "sha256:c"]);

        Assert.Equal([$"{Image}@sha256:c"], removed);
    }

    [Fact]
    public void NextPoll_Jitter_StaysWithinIntervalPlusJitter()
    {
        var interval = TimeSpan.FromSeconds(30);
        var jitter = TimeSpan.FromSeconds(3);

        Assert.Equal(interval, Decisions.NextPoll(interval, jitter, 0));
        Assert.Equal(TimeSpan.FromSeconds(31.5), Decisions.NextPoll(interval, jitter, 0.5));
        Assert.True(Decisions.NextPoll(interval, jitter, 0.999) < interval + jitter);
    }

    [Fact]
    public void HasRoom_BelowMargin_IsFalse()
    {
        Assert.False(DiskRule.HasRoom(freeBytes: 1023L * 1024 * 1024, minFreeMiB: 1024));
        Assert.True(DiskRule.HasRoom(freeBytes: 1024L * 1024 * 1024, minFreeMiB: 1024));
    }

    internal static ContainerInfo Container(string name, bool running = true, string? digestLabel = null, string[]? repoDigests = null, int restarts = 0)
    {
        var labels = new Dictionary<string, string>();
        if (digestLabel is not null)
        {
            labels[ContainerLabels.Digest] = digestLabel;
        }

        return new ContainerInfo(
            "id-" + name,
            name,
            "sha256:image",
            new ContainerState(running ? "running" : "exited", running, false, restarts, running ? 0 : 1, DateTimeOffset.UnixEpoch),
            labels,
            repoDigests ?? [],
            [new PortBinding("127.0.0.1", 8000, 8000)]);
    }
}
