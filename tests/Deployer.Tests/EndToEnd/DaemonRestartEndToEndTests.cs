using Deployer.Tests.Support;

namespace Deployer.Tests.EndToEnd;

/// <summary>Restarting the daemon stops every container on the engine, so this runs alone, after the others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DockerDaemonRestart : ICollectionFixture<PredictorImages>
{
    public const string Name = "docker daemon restart";
}

/// <summary>Scenario (e) with the real thing: the Docker daemon itself restarts under a running deployer.</summary>
[Collection(DockerDaemonRestart.Name)]
public sealed class DaemonRestartEndToEndTests(PredictorImages images) : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(180);
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Deployer_DockerDaemonRestarted_PredictorServesAgainAndTheNextImageRollsOut()
    {
        // Arrange: v1 rolled out and serving.
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync();
        await WaitForVersionAsync(deployer, images.V1ModelVersion);

        // Act: the daemon goes away and comes back (every container is stopped in between).
        await DockerDaemon.RestartAsync();

        // Assert: the predictor serves again and the deployer, which kept running, still rolls out what CI pushes.
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        await _rig.PushAsync(PredictorImages.V2);
        await WaitForVersionAsync(deployer, images.V2ModelVersion);
        // The rollout commits after its health gate: the previous container is then removed.
        await Probes.WaitUntilAsync(async () => await _rig.InspectAsync(_rig.ContainerName + "-previous") is null, Long, "the rollout to commit", () => deployer.Logs.Text);
    }

    [Fact]
    public async Task BlueGreen_DockerDaemonRestarted_TheEdgeRoutesToTheLiveSlotAgainAndTheNextImageRollsOut()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen());
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        await Probes.WaitUntilAsync(async () => await deployer.LastOutcomeAsync() == "Succeeded", Long, "v1's rollout to commit", () => deployer.Logs.Text);
        var live = (await deployer.StatusAsync()).GetProperty("liveSlot").GetString();

        await DockerDaemon.RestartAsync();

        // The edge and the live slot come back by themselves (unless-stopped); the edge reads the live slot from its file.
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        Assert.Equal(live, (await deployer.StatusAsync()).GetProperty("liveSlot").GetString());
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await WaitForVersionAsync(deployer, images.V2ModelVersion);
        await Probes.WaitUntilAsync(
            async () => (await deployer.StatusAsync()).GetProperty("lastRollout") is { ValueKind: System.Text.Json.JsonValueKind.Object } last
                && last.GetProperty("digest").GetString() == v2 && last.GetProperty("outcome").GetString() == "Succeeded",
            Long, "v2's rollout to commit", () => deployer.Logs.Text);
        Assert.Null(await _rig.InspectAsync(_rig.ContainerName + "-" + live));
    }

    private async Task WaitForVersionAsync(DeployerInstance deployer, string modelVersion) =>
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == modelVersion, Long, $"model version {modelVersion} on {_rig.PredictorAddress}", () => deployer.Logs.Text);
}
