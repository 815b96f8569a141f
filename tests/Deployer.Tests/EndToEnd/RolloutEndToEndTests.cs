using Deployer.Tests.Support;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// The issue's scenarios against the real Docker engine, a real docker-registry and real predictor images.
/// Waits have generous bounds; nothing here asserts a duration.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed class RolloutEndToEndTests(PredictorImages images) : IAsyncLifetime
{
    private const string Checks = "deployer_checks_total";
    private const string RegistryErrors = "deployer_registry_errors_total";
    private const string DockerErrors = "deployer_docker_errors_total";
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(120);
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Deployer_PushV2_RollsItOutAndModelInfoShowsV2()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync();
        await WaitForVersionAsync(deployer, images.V1ModelVersion);

        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await WaitForVersionAsync(deployer, images.V2ModelVersion);
        await WaitForRolloutAsync(deployer, v2, "Succeeded");

        var container = await _rig.InspectAsync(_rig.ContainerName);
        Assert.Equal(v2, container!.Config.Labels["org.studentperformance.deployer.digest"]);
        Assert.Equal($"{_rig.ImageName}@{v2}", container.Config.Image);
        Assert.Null(await _rig.InspectAsync(_rig.ContainerName + "-previous"));
        Assert.Null(await _rig.InspectAsync(_rig.ContainerName + "-preflight"));
        var status = await deployer.StatusAsync();
        Assert.Equal(v2, status.GetProperty("runningDigest").GetString());
    }

    [Fact]
    public async Task Deployer_NeverServingImageWithoutPreflight_RollsBackToV1AndQuarantines()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(new Dictionary<string, string?>
        {
            ["Deployer:Preflight:Enabled"] = "false",
            // Short enough to roll back soon, long enough for v1's first gate on a loaded host.
            ["Deployer:HealthGate:Deadline"] = "00:00:45",
        });
        await WaitForVersionAsync(deployer, images.V1ModelVersion);

        var bad = await _rig.PushAsync(PredictorImages.NeverServing);
        await WaitForRolloutAsync(deployer, bad, "RolledBack");

        Assert.True(await _rig.IsServingAsync());
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        Assert.Contains(bad, await deployer.QuarantinedAsync());
        Assert.Null(await _rig.InspectAsync(_rig.ContainerName + "-previous"));
        var rolledBack = (await deployer.StatusAsync()).GetProperty("lastRollout").GetProperty("id").GetString();
        await deployer.WaitForMoreAsync(Checks, 3, Long);
        Assert.Equal("Quarantined", (await deployer.StatusAsync()).GetProperty("lastCheckResult").GetString());
        Assert.Equal(rolledBack, (await deployer.StatusAsync()).GetProperty("lastRollout").GetProperty("id").GetString());
    }

    [Theory]
    [InlineData("hang")]
    [InlineData("crash")]
    public async Task Deployer_BrokenImageWithPreflight_IsRefusedAndV1IsNeverStopped(string variant)
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(new Dictionary<string, string?> { ["Deployer:Preflight:Timeout"] = "00:00:45" });
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        var before = await _rig.InspectAsync(_rig.ContainerName);

        var bad = await _rig.PushAsync(variant == "hang" ? PredictorImages.NeverServing : PredictorImages.Crashing);
        await WaitForRolloutAsync(deployer, bad, "Refused");

        var after = await _rig.InspectAsync(_rig.ContainerName);
        Assert.Equal(before!.ID, after!.ID);
        Assert.Equal(before.State.StartedAt, after.State.StartedAt);
        Assert.True(after.State.Running);
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        Assert.Contains(bad, await deployer.QuarantinedAsync());
        Assert.Null(await _rig.InspectAsync(_rig.ContainerName + "-preflight"));
    }

    [Fact]
    public async Task Deployer_RegistryDown_V1KeepsServingAndTheDeployerRecovers()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync();
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        var before = await _rig.InspectAsync(_rig.ContainerName);

        _rig.Registry.Stop();
        await Probes.WaitUntilAsync(
            async () => (await deployer.StatusAsync()).GetProperty("lastError").GetString()?.StartsWith("registry", StringComparison.Ordinal) == true,
            Long, "the deployer to notice the outage", () => deployer.Logs.Text);
        await deployer.WaitForMoreAsync(RegistryErrors, 2, Long);
        Assert.Equal(before!.ID, (await _rig.InspectAsync(_rig.ContainerName))!.ID);
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        await _rig.Registry.RestartAsync();
        await _rig.PushAsync(PredictorImages.V2);

        await WaitForVersionAsync(deployer, images.V2ModelVersion);
        Assert.Contains("deployer_registry_errors_total", await deployer.GetAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deployer_DockerEngineUnreachable_V1KeepsServingAndTheDeployerRecovers()
    {
        await using var proxy = DockerSocketProxy.Start();
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(new Dictionary<string, string?> { ["Deployer:Docker:Endpoint"] = proxy.Endpoint });
        await WaitForVersionAsync(deployer, images.V1ModelVersion);

        proxy.Stop();
        await Probes.WaitUntilAsync(
            async () => (await deployer.StatusAsync()).GetProperty("lastError").GetString()?.StartsWith("docker", StringComparison.Ordinal) == true,
            Long, "the deployer to notice the engine is gone", () => deployer.Logs.Text);
        await _rig.PushAsync(PredictorImages.V2);
        await deployer.WaitForMoreAsync(DockerErrors, 2, Long);
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        proxy.Resume();

        await WaitForVersionAsync(deployer, images.V2ModelVersion);
    }

    [Fact]
    public async Task Deployer_LeftoverContainerWithTheTargetName_IsReplaced()
    {
        // Like the seed's hand-run `docker run -d --name mltest -p 8000:8000 ...`: unmanaged, another image, the port taken.
        await Cli.RunAsync(["run", "-d", "--name", _rig.ContainerName, "-p", $"127.0.0.1:{_rig.HostPort}:8000", PredictorImages.V1]);
        await Probes.WaitUntilAsync(_rig.IsServingAsync, Long, "the hand-run container to serve");
        var v2 = await _rig.PushAsync(PredictorImages.V2);

        var deployer = await _rig.StartDeployerAsync();

        await WaitForRolloutAsync(deployer, v2, "Succeeded");
        Assert.Equal(images.V2ModelVersion, await _rig.ModelVersionAsync());
        var container = await _rig.InspectAsync(_rig.ContainerName);
        Assert.Equal("true", container!.Config.Labels["org.studentperformance.deployer.managed"]);
        Assert.Null(await _rig.InspectAsync(_rig.ContainerName + "-previous"));
    }

    [Fact]
    public async Task Deployer_LeftoverContainerAlreadyOnTheTrackedDigest_IsAdoptedWithoutRestart()
    {
        var v1 = await _rig.PushAsync(PredictorImages.V1);
        await _rig.Registry.Docker.RunAsync(["pull", $"{_rig.ImageName}@{v1}"]);
        await Cli.RunAsync(["run", "-d", "--name", _rig.ContainerName, "-p", $"127.0.0.1:{_rig.HostPort}:8000", $"{_rig.ImageName}@{v1}"]);
        var before = await _rig.InspectAsync(_rig.ContainerName);

        var deployer = await _rig.StartDeployerAsync();
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("lastCheckResult").GetString() == "Adopt", Long, "adoption", () => deployer.Logs.Text);

        var after = await _rig.InspectAsync(_rig.ContainerName);
        Assert.Equal(before!.ID, after!.ID);
        Assert.Equal(before.State.StartedAt, after.State.StartedAt);
        Assert.Equal(v1, (await deployer.StatusAsync()).GetProperty("runningDigest").GetString());
    }

    [Fact]
    public async Task Deployer_KilledMidSwapAndRestarted_EndsWithASERVINGPredictor()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var firstLog = new LogCollector();
        var first = _rig.StartDeployerProcess(firstLog);
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V1ModelVersion, Long, "v1", () => firstLog.Text);
        await Probes.WaitUntilAsync(() => Task.FromResult(firstLog.Contains("Succeeded")), Long, "the first rollout to finish", () => firstLog.Text);

        await _rig.PushAsync(PredictorImages.V2);
        // Killed while both containers exist: after the rename, before the commit removes -previous.
        await Probes.WaitUntilAsync(async () => await _rig.InspectAsync(_rig.ContainerName + "-previous") is not null, Long, "the swap to rename v1 aside", () => firstLog.Text);
        first.Kill(entireProcessTree: true);
        await first.WaitForExitAsync();

        var secondLog = new LogCollector();
        _rig.StartDeployerProcess(secondLog);

        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V2ModelVersion, Long, "v2 to serve after the restart", () => firstLog.Text + "\n---- second run ----\n" + secondLog.Text);
        await Probes.WaitUntilAsync(async () => await _rig.InspectAsync(_rig.ContainerName + "-previous") is null, Long, "-previous to be cleaned up", () => secondLog.Text);
        Assert.True(await _rig.IsServingAsync());
    }

    [Fact]
    public async Task Deployer_ThreeRollouts_KeepsOnlyTheNewestTwoImagesOfTheRepository()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(new Dictionary<string, string?> { ["Deployer:Disk:KeepImages"] = "2" });
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        await _rig.PushAsync(PredictorImages.V2);
        await WaitForVersionAsync(deployer, images.V2ModelVersion);
        var v3 = await _rig.PushAsync(PredictorImages.V3);
        await WaitForRolloutAsync(deployer, v3, "Succeeded");

        var left = await _rig.LocalImagesAsync();

        Assert.True(left.Count == 2, $"{left.Count} images left: {string.Join(", ", left.SelectMany(i => i.RepoDigests.Concat(i.RepoTags)))}\n{deployer.Logs.Text}");
        Assert.Contains(left, i => i.RepoDigests.Contains($"{_rig.ImageName}@{v3}"));
    }

    [Fact]
    public async Task Deployer_NotEnoughDiskEvenAfterPruning_RefusesClearlyAndLeavesV1Alone()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync();
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        await deployer.App.StopAsync();
        var before = await _rig.InspectAsync(_rig.ContainerName);

        // 1 EiB: no pruning can free that much.
        var starved = await _rig.StartDeployerAsync(new Dictionary<string, string?> { ["Deployer:Disk:MinFreeMiB"] = "1099511627776" });
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await WaitForRolloutAsync(starved, v2, "Refused");

        var detail = (await starved.StatusAsync()).GetProperty("lastRollout").GetProperty("detail").GetString();
        Assert.Contains("Deployer:Disk:MinFreeMiB", detail, StringComparison.Ordinal);
        Assert.Equal(before!.ID, (await _rig.InspectAsync(_rig.ContainerName))!.ID);
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
    }

    [Fact]
    public async Task Admin_RollbackAfterV2_ServesV1QuarantinesV2AndNotifies()
    {
        await using var hook = await WebhookSink.StartAsync();
        var events = hook.Events;
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(new Dictionary<string, string?>(hook.Settings));
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await WaitForRolloutAsync(deployer, v2, "Succeeded");

        using var response = await deployer.PostAsync("/rollback");

        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        Assert.Contains(v2, await deployer.QuarantinedAsync());
        await hook.WaitForAsync("rollback", Long);
        Assert.Contains(events, e => e.Contains("\"event\":\"success\"", StringComparison.Ordinal) && e.Contains(v2, StringComparison.Ordinal));
        await deployer.WaitForMoreAsync(Checks, 2, Long);
        Assert.Equal("Quarantined", (await deployer.StatusAsync()).GetProperty("lastCheckResult").GetString());
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
    }

    [Fact]
    public async Task Admin_Paused_DoesNotRollOutUntilResumed()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync();
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        (await deployer.PostAsync("/pause")).Dispose();

        await _rig.PushAsync(PredictorImages.V2);
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("lastCheckResult").GetString() == "Paused", Long, "a paused check", () => deployer.Logs.Text);
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        (await deployer.PostAsync("/resume")).Dispose();

        await WaitForVersionAsync(deployer, images.V2ModelVersion);
        Assert.Equal("ok", await deployer.GetAsync("/healthz"));
        // The image's HEALTHCHECK runs this same probe against the same endpoint.
        Assert.Equal(0, await StudentPerformance.Deployer.Hosting.DeployerCommandLine.InvokeAsync(["probe", "--url", deployer.Admin.ToString()]));
    }

    private async Task WaitForVersionAsync(DeployerInstance deployer, string modelVersion) =>
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == modelVersion, Long, $"model version {modelVersion} on {_rig.PredictorAddress}", () => deployer.Logs.Text);

    private static Task WaitForRolloutAsync(DeployerInstance deployer, string digest, string outcome) => deployer.WaitForRolloutAsync(digest, outcome, Long);
}
