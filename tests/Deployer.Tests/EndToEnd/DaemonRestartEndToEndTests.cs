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

    /// <summary>
    /// The daemon restarted while the edge switches to the candidate: every container stops, the engine and the edge's
    /// runtime API stop answering in the middle of the switch, and come back (the edge and both slots under
    /// unless-stopped). Whichever way the interrupted rollout ends, the deployer must converge on one running slot
    /// that answers SERVING, with the edge's runtime state and its file naming it, no other container, and v2 (whose
    /// fault the restart was not) never quarantined: it ends live.
    /// </summary>
    [Fact]
    public async Task BlueGreen_DockerDaemonRestartedMidSwitch_ConvergesOnOneServingSlotAndTheDigestIsNotQuarantined()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen(new Dictionary<string, string?> { ["Deployer:HealthGate:StableFor"] = "00:00:03" }));
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        await Probes.WaitUntilAsync(async () => await deployer.LastOutcomeAsync() == "Succeeded", Long, "v1's rollout to commit", () => deployer.Logs.Text);

        var mark = deployer.Logs.Count;
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        // Polled closely (a log line, no I/O): the switch lasts about one edge check interval (0.5 s here).
        var waited = TimeProvider.System.GetTimestamp();
        while (!deployer.Logs.ContainsSince(mark, "step switch started"))
        {
            Assert.True(TimeProvider.System.GetElapsedTime(waited) < Long, $"v2's rollout did not start its switch within {Long}:\n{deployer.Logs.Text}");
            await Task.Delay(10);
        }

        await DockerDaemon.RestartAsync();

        await Probes.WaitUntilAsync(
            async () => (await deployer.StatusAsync()) is var s && !s.GetProperty("rolloutInProgress").GetBoolean()
                && s.GetProperty("runningDigest").GetString() == v2 && s.GetProperty("lastRollout") is { ValueKind: System.Text.Json.JsonValueKind.Object } last
                && last.GetProperty("digest").GetString() == v2 && last.GetProperty("outcome").GetString() == "Succeeded",
            TimeSpan.FromSeconds(300), "v2 to end live and committed after the daemon restart", () => deployer.Logs.Text);

        var status = await deployer.StatusAsync();
        var live = status.GetProperty("liveSlot").GetString()!;
        Assert.Equal(images.V2ModelVersion, await _rig.ModelVersionAsync());
        Assert.DoesNotContain(v2, await deployer.QuarantinedAsync());
        Assert.Contains("# live-slot: " + live, await File.ReadAllTextAsync(Path.Combine(_rig.StateDirectory, "edge", "haproxy.cfg")), StringComparison.Ordinal);
        // The edge's runtime state: every server of the live slot ready and UP, the other slot's in maintenance.
        await Probes.WaitUntilAsync(
            async () => (await deployer.StatusAsync()).GetProperty("edge").GetProperty("servers").EnumerateArray()
                .All(server => server.GetProperty("slot").GetString() == live
                    ? server.GetProperty("admin").GetString() == "Ready" && server.GetProperty("up").GetBoolean()
                    : server.GetProperty("admin").GetString() == "Maintenance"),
            Long, $"the edge's runtime state to route to {live} alone", () => deployer.StatusAsync().GetAwaiter().GetResult().GetProperty("edge") + "\n" + deployer.Logs.Text);
        var expected = new[] { _rig.EdgeName, _rig.ContainerName + "-" + live }.Order().ToList();
        await Probes.WaitUntilAsync(async () => (await OursAsync()).Order().SequenceEqual(expected), Long, $"only the edge and the {live} slot to remain",
            () => string.Join(", ", OursAsync().GetAwaiter().GetResult()) + "\n" + deployer.Logs.Text);
        Assert.True((await _rig.InspectAsync(_rig.ContainerName + "-" + live))!.State.Running);
    }

    private async Task<IReadOnlyList<string>> OursAsync() =>
        [.. (await Cli.RunAsync(["ps", "-a", "--filter", $"name={_rig.ContainerName}", "--format", "{{.Names}}"]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private async Task WaitForVersionAsync(DeployerInstance deployer, string modelVersion) =>
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == modelVersion, Long, $"model version {modelVersion} on {_rig.PredictorAddress}", () => deployer.Logs.Text);
}
