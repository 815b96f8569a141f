using System.Text.Json;
using Deployer.Tests.Support;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// The edge container restarted during a bake, then the candidate killed, with the real engine, registry and HAProxy.
/// An edge that comes back must still have the old slot's standby enabled: else the dead candidate leaves the edge
/// with no server until the deployer switches back, and every call in that time fails.
/// <para>
/// What is counted. While the edge container itself is down (from <c>docker restart</c> until it listens again) every
/// client fails, whatever the deployer does: those calls are not counted. <b>The edge is back</b>, for each client, at
/// the start of its first call that started after <c>docker restart</c> returned and answered SERVING. A long-lived
/// grpc-dotnet channel only reconnects after its own backoff (1 s, growing), so its mark can come a few seconds after
/// the new-connection client's. From that mark on no call may fail, with one exception that no proxy can avoid: a
/// call in flight inside the candidate when the test SIGKILLs it (started before <c>docker kill</c> returned and
/// ended after it was issued), at most one per client, since each client has one call at a time.
/// </para>
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed class EdgeRestartEndToEndTests(PredictorImages images) : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(180);
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task EdgeRestartedInTheBake_ThenTheCandidateKilled_NoFailedCallOnceTheEdgeIsBack()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var first = await _rig.StartDeployerAsync(_rig.BlueGreen());
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V1ModelVersion && await first.LastOutcomeAsync() == "Succeeded",
            Long, "v1 to be live and its bake over", () => first.Logs.Text);
        await first.DisposeAsync();
        // The bake is one setting for every rollout: v1's was short; v2's is longer than the restart and the kill take
        // on a loaded host (the kill ends it, not its clock).
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen(new Dictionary<string, string?>
        {
            ["Deployer:HealthGate:StableFor"] = "00:00:03",
            ["Deployer:HealthGate:BakeTime"] = "00:04:00",
        }));
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("edge").GetProperty("reachable").GetBoolean(),
            Long, "the second deployer to reach the edge", () => deployer.Logs.Text);
        var old = (await deployer.StatusAsync()).GetProperty("liveSlot").GetString()!;
        await using var longLived = new CallRecorder(_rig.PredictorAddress);
        await using var newConnections = new CallRecorder(_rig.PredictorAddress, newChannelPerCall: true);
        CallRecorder[] clients = [longLived, newConnections];

        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("rolloutPhase").GetString() == "bake",
            Long, "v2's rollout to reach the bake", () => deployer.Logs.Text);
        var candidate = (await deployer.StatusAsync()).GetProperty("candidateSlot").GetString()!;

        await Cli.RunAsync(["restart", _rig.EdgeName]);
        var restarted = TimeProvider.System.GetUtcNow();
        var back = new DateTimeOffset[clients.Length];
        await Probes.WaitUntilAsync(
            () => Task.FromResult(clients.All(c => c.FirstServingStartedAt(restarted) is not null)),
            Long, "both clients to be answered SERVING through the restarted edge", () => deployer.Logs.Text);
        for (var i = 0; i < clients.Length; i++)
        {
            back[i] = clients[i].FirstServingStartedAt(restarted)!.Value;
        }

        var phase = (await deployer.StatusAsync()).GetProperty("rolloutPhase").GetString();
        Assert.True(phase == "bake", $"the rollout left the bake before the candidate could be killed (phase {phase}):\n{deployer.Logs.Text}");
        var killIssued = TimeProvider.System.GetUtcNow();
        await Cli.RunAsync(["kill", "--signal", "KILL", _rig.ContainerName + "-" + candidate]);
        var killed = TimeProvider.System.GetUtcNow();

        await Probes.WaitUntilAsync(
            async () => (await deployer.StatusAsync()).GetProperty("lastRollout") is { ValueKind: JsonValueKind.Object } last
                && last.GetProperty("digest").GetString() == v2 && last.GetProperty("outcome").GetString() == "RolledBack",
            Long, "v2's rollout to be rolled back", () => deployer.Logs.Text);
        await longLived.WaitForMoreCallsAsync(5, Long);
        await newConnections.WaitForMoreCallsAsync(5, Long);

        for (var i = 0; i < clients.Length; i++)
        {
            var counted = clients[i].FailedCalls.Where(c => c.Started >= back[i]).ToList();
            var inFlightAtTheKill = counted.Where(c => c.Started < killed && c.Ended >= killIssued).ToList();
            var name = i == 0 ? "long-lived grpc-dotnet" : "new connection per call";
            Assert.True(counted.Count == inFlightAtTheKill.Count && inFlightAtTheKill.Count <= 1,
                $"{name}: calls failed after the edge was back ({back[i]:HH:mm:ss.fff}; restart returned {restarted:HH:mm:ss.fff}, kill {killIssued:HH:mm:ss.fff}-{killed:HH:mm:ss.fff}): " +
                $"{string.Join("; ", counted)}\n{deployer.Logs.Text}");
        }

        Assert.Empty(longLived.NotServing);
        Assert.Empty(newConnections.NotServing);
        Assert.Equal(old, (await deployer.StatusAsync()).GetProperty("liveSlot").GetString());
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        var expected = new[] { _rig.EdgeName, _rig.ContainerName + "-" + old }.Order().ToList();
        await Probes.WaitUntilAsync(async () => (await OursAsync()).Order().SequenceEqual(expected), Long, $"only the edge and the {old} slot to remain",
            () => string.Join(", ", OursAsync().GetAwaiter().GetResult()) + "\n" + deployer.Logs.Text);
    }

    private async Task<IReadOnlyList<string>> OursAsync() =>
        [.. (await Cli.RunAsync(["ps", "-a", "--filter", $"name={_rig.ContainerName}", "--format", "{{.Names}}"]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
