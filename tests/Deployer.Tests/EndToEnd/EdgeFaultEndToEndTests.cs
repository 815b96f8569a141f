using System.Diagnostics;
using Deployer.Tests.Support;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// Faults of the edge's runtime API during good blue/green rollouts, with the real engine, registry and HAProxy: an
/// iptables REJECT (connection refused) on the runtime API's port for 20 s, from the start of a phase. A long-lived
/// grpc-dotnet client and a client that opens a new connection per call watch the public port: neither may see a
/// failed call, and the new image must end live with only the edge and its slot left. The in-memory
/// <c>SingleFaultTests</c> cover every fault point; this checks the same answer against the real parts.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed class EdgeFaultEndToEndTests(PredictorImages images) : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan Refusal = TimeSpan.FromSeconds(20);
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Theory]
    [InlineData("candidate")]
    [InlineData("gate")]
    [InlineData("bake")]
    public async Task RuntimeApiRefusedFor20sFromAPhase_GoodRolloutEndsLive_WithoutAFailedCall(string phase)
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen(new Dictionary<string, string?>
        {
            ["Deployer:HealthGate:StableFor"] = "00:00:03",
            // A bake long enough that the refusal started in it lasts into the retire.
            ["Deployer:HealthGate:BakeTime"] = "00:00:12",
        }));
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V1ModelVersion && await deployer.LastOutcomeAsync() == "Succeeded",
            Long, "v1 to be live", () => deployer.Logs.Text);
        await using var longLived = new CallRecorder(_rig.PredictorAddress);
        await using var newConnections = new CallRecorder(_rig.PredictorAddress, newChannelPerCall: true);

        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("rolloutPhase").GetString() == phase,
            Long, $"the rollout to reach phase {phase}", () => deployer.Logs.Text);
        await RefuseAsync(_rig.RuntimeApiPort, Refusal, async () =>
            // The rule works: /status asks the runtime API now, and it is refused.
            await Probes.WaitUntilAsync(async () => !(await deployer.StatusAsync()).GetProperty("edge").GetProperty("reachable").GetBoolean(),
                TimeSpan.FromSeconds(10), "the runtime API to be refused", () => deployer.Logs.Text));

        await Probes.WaitUntilAsync(
            async () => await _rig.ModelVersionAsync() == images.V2ModelVersion && await deployer.LastOutcomeAsync() == "Succeeded"
                && (await deployer.StatusAsync()).GetProperty("runningDigest").GetString() == v2,
            Long, "v2 to be live and committed", () => deployer.Logs.Text);
        await longLived.WaitForMoreCallsAsync(5, Long);
        await newConnections.WaitForMoreCallsAsync(5, Long);

        Assert.Empty(longLived.Failures);
        Assert.Empty(newConnections.Failures);
        Assert.Empty(longLived.NotServing);
        Assert.Empty(newConnections.NotServing);
        var live = (await deployer.StatusAsync()).GetProperty("liveSlot").GetString();
        var names = (await Cli.RunAsync(["ps", "-a", "--filter", $"name={_rig.ContainerName}", "--format", "{{.Names}}"]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(new[] { _rig.EdgeName, _rig.ContainerName + "-" + live }.Order(), names.Order());
    }

    /// <summary>
    /// Rejects TCP connections to 127.0.0.1:<paramref name="port"/> (this test's own runtime API port) for
    /// <paramref name="duration"/>, then removes the rule; the rule goes in a finally, whatever happens.
    /// </summary>
    private static async Task RefuseAsync(int port, TimeSpan duration, Func<Task> whileRefused)
    {
        var started = TimeProvider.System.GetTimestamp();
        string[] rule = ["-p", "tcp", "-d", "127.0.0.1", "--dport", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-j", "REJECT", "--reject-with", "tcp-reset"];
        await IptablesAsync(["-I", "INPUT", .. rule]);
        try
        {
            await whileRefused();
            // The fault's length, not a wait for a state: the refusal lasts this long from its start.
            var left = duration - TimeProvider.System.GetElapsedTime(started);
            if (left > TimeSpan.Zero)
            {
                await Task.Delay(left);
            }
        }
        finally
        {
            await IptablesAsync(["-D", "INPUT", .. rule]);
        }
    }

    private static async Task IptablesAsync(string[] arguments)
    {
        var start = new ProcessStartInfo("iptables") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"iptables {string.Join(' ', arguments)} failed: {error}");
    }
}
