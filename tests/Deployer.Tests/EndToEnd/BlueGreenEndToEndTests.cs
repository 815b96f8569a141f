using System.Text.Json;
using Deployer.Tests.Support;
using Docker.DotNet.Models;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// <c>Deployer:Strategy</c> = BlueGreen against the real engine, registry, edge (HAProxy, built from Dockerfile.edge)
/// and predictor images. Clients reach only the edge's public port. Waits have generous bounds; nothing asserts a
/// duration. What is asserted of clients is that a long-lived channel never saw an outage (a refused, reset or
/// unavailable call); slowness under load is counted apart. NOT_SERVING is asserted away where no slot stops by
/// itself; the image that stops itself (SIGTERM) answers NOT_SERVING while it drains, until it is switched away from.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed class BlueGreenEndToEndTests(PredictorImages images) : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(180);
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task GoodRollout_SwitchesSlotsBehindTheEdge_WithoutAFailedCall()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen());
        var first = await WaitForVersionAsync(deployer, images.V1ModelVersion);
        await using var client = new CallRecorder(_rig.PredictorAddress);
        await client.WaitForMoreCallsAsync(5, Long);

        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await WaitForRolloutAsync(deployer, v2, "Succeeded");
        await client.WaitForMoreCallsAsync(5, Long);

        Assert.Empty(client.Failures);
        Assert.Empty(client.NotServing);
        Assert.Equal(images.V2ModelVersion, await _rig.ModelVersionAsync());
        var status = await deployer.StatusAsync();
        var live = status.GetProperty("liveSlot").GetString();
        Assert.NotEqual(first, live);
        Assert.Equal(v2, status.GetProperty("runningDigest").GetString());
        Assert.Equal("BlueGreen", status.GetProperty("strategy").GetString());
        Assert.True(status.GetProperty("edge").GetProperty("reachable").GetBoolean());
        // The quality gate compared v2 with the model in the live slot, not with a container of the Recreate name.
        Assert.Equal(images.V1ModelVersion, status.GetProperty("qualityGate").GetProperty("live").GetProperty("modelVersion").GetString());
        await AssertOnlyEdgeAndLiveSlotAsync(live!);

        var slot = await _rig.InspectAsync(_rig.ContainerName + "-" + live);
        Assert.Equal(RestartPolicyKind.UnlessStopped, slot!.HostConfig.RestartPolicy.Name);
        Assert.All(slot.HostConfig.PortBindings.Values.SelectMany(b => b), b => Assert.Equal("127.0.0.1", b.HostIP));
        var edge = await _rig.InspectAsync(_rig.EdgeName);
        Assert.Equal("host", edge!.HostConfig.NetworkMode);
        Assert.Contains("deployer_edge_switch_seconds", await deployer.GetAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BrokenImage_IsRefusedInItsSlot_AndTheLiveSlotIsNeverTouched()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen(new Dictionary<string, string?> { ["Deployer:Preflight:Timeout"] = "00:00:45" }));
        var live = await WaitForVersionAsync(deployer, images.V1ModelVersion);
        var before = await _rig.InspectAsync(_rig.ContainerName + "-" + live);
        await using var client = new CallRecorder(_rig.PredictorAddress);

        var bad = await _rig.PushAsync(PredictorImages.Crashing);
        await WaitForRolloutAsync(deployer, bad, "Refused");

        var after = await _rig.InspectAsync(_rig.ContainerName + "-" + live);
        Assert.Equal(before!.ID, after!.ID);
        Assert.Equal(before.State.StartedAt, after.State.StartedAt);
        Assert.Contains(bad, await deployer.QuarantinedAsync());
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        Assert.Empty(client.Failures);
        Assert.Empty(client.NotServing);
        await AssertOnlyEdgeAndLiveSlotAsync(live);
    }

    [Fact]
    public async Task GateFailureAfterTheSwitch_SwitchesBackToTheOldSlot_AndQuarantines()
    {
        await _rig.PushAsync(PredictorImages.V1);
        // The gate outlasts the image's life (it stops itself 20 s after each start), so it fails after the switch.
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen(new Dictionary<string, string?>
        {
            ["Deployer:HealthGate:StableFor"] = "00:01:00",
            ["Deployer:HealthGate:Deadline"] = "00:02:00",
        }));
        var live = await WaitForVersionAsync(deployer, images.V1ModelVersion);
        await using var client = new CallRecorder(_rig.PredictorAddress);

        var bad = await _rig.PushAsync(PredictorImages.ExitsLater);
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("liveSlot").GetString() != live, Long, "the switch to the candidate", () => deployer.Logs.Text);
        var record = await WaitForRolloutAsync(deployer, bad, "RolledBack");

        Assert.StartsWith("health gate failed", record.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(live, (await deployer.StatusAsync()).GetProperty("liveSlot").GetString());
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        Assert.Contains(bad, await deployer.QuarantinedAsync());
        await AssertOnlyEdgeAndLiveSlotAsync(live);
        Assert.True(client.Calls > 0);
        Assert.Empty(client.Failures);
    }

    [Fact]
    public async Task FailureDuringTheBake_SwitchesBackToTheOldSlot_AndQuarantines()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen(new Dictionary<string, string?>
        {
            ["Deployer:HealthGate:StableFor"] = "00:00:02",
            // Longer than the bad image's life (20 s from its start), short enough for v1's own bake to end first.
            ["Deployer:HealthGate:BakeTime"] = "00:01:00",
        }));
        var live = await WaitForVersionAsync(deployer, images.V1ModelVersion, rolloutDone: false);
        await Probes.WaitUntilAsync(async () => await deployer.LastOutcomeAsync() == "Succeeded", Long, "v1's bake to end", () => deployer.Logs.Text);
        await using var client = new CallRecorder(_rig.PredictorAddress);

        var bad = await _rig.PushAsync(PredictorImages.ExitsLater);
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("rolloutPhase").GetString() == "bake", Long, "the gate to pass and the bake to start", () => deployer.Logs.Text);
        var record = await WaitForRolloutAsync(deployer, bad, "RolledBack");

        Assert.StartsWith("bake failed", record.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(live, (await deployer.StatusAsync()).GetProperty("liveSlot").GetString());
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        Assert.Contains(bad, await deployer.QuarantinedAsync());
        await AssertOnlyEdgeAndLiveSlotAsync(live);
        Assert.Empty(client.Failures);
    }

    [Fact]
    public async Task CrashLoopAfterCommit_IsReportedNotRolledBack_AndTheOperatorRollsBackThroughTheEdge()
    {
        await using var hook = await WebhookSink.StartAsync();
        var events = hook.Events;
        var v1 = await _rig.PushAsync(PredictorImages.V1);
        // No bake: the image that stops itself 20 s after each start is committed, then loops under unless-stopped.
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen(new Dictionary<string, string?>
        {
            ["Deployer:HealthGate:BakeTime"] = "00:00:00",
            ["Deployer:CrashLoop:MaxRestarts"] = "2",
            ["Deployer:CrashLoop:Window"] = "00:05:00",
            ["Deployer:Webhook:Url"] = hook.Url,
            ["Deployer:Webhook:Secret"] = hook.Secret,
        }));
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        var looping = await _rig.PushAsync(PredictorImages.ExitsLater);
        await WaitForRolloutAsync(deployer, looping, "Succeeded");
        var live = (await deployer.StatusAsync()).GetProperty("liveSlot").GetString();

        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("crashLoop").ValueKind == JsonValueKind.Object, Long, "the crash loop to be reported", () => deployer.Logs.Text);

        var status = await deployer.StatusAsync();
        Assert.True(status.GetProperty("crashLoop").GetProperty("restarts").GetInt32() >= 2);
        Assert.Equal(live, status.GetProperty("liveSlot").GetString());
        Assert.Equal(looping, status.GetProperty("runningDigest").GetString());
        Assert.Contains("deployer_live_crash_loop 1", await deployer.GetAsync("/metrics"), StringComparison.Ordinal);
        await hook.WaitForAsync("crash-loop", Long);

        using var response = await deployer.PostAsync("/rollback");
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        // The edge serves v1 from the switch on, before the rollback commits: wait for the committed state itself.
        await Probes.WaitUntilAsync(
            async () => await deployer.StatusAsync() is var now && !now.GetProperty("rolloutInProgress").GetBoolean() && now.GetProperty("runningDigest").GetString() == v1,
            Long, "the operator's rollback to v1 to be committed", () => deployer.Logs.Text);
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        Assert.Equal("Succeeded", await deployer.LastOutcomeAsync());
        Assert.Contains(looping, await deployer.QuarantinedAsync());
        await AssertOnlyEdgeAndLiveSlotAsync((await deployer.StatusAsync()).GetProperty("liveSlot").GetString()!, () => deployer.Logs.Text);
    }

    [Theory]
    [InlineData("candidate")]
    [InlineData("gate")]
    [InlineData("bake")]
    [InlineData("retire")]
    public async Task DeployerKilledAtAStep_TheNextDeployerEndsWithTheEdgeOnASERVINGSlotAndNoStrays(string phase)
    {
        await _rig.PushAsync(PredictorImages.V1);
        var admin = LocalRegistry.FreePort();
        var settings = _rig.BlueGreen(new Dictionary<string, string?>
        {
            ["Deployer:Admin:Url"] = $"http://127.0.0.1:{admin}",
            ["Deployer:HealthGate:StableFor"] = "00:00:03",
            ["Deployer:HealthGate:BakeTime"] = "00:00:10",
        });
        var firstLog = new LogCollector();
        var first = _rig.StartDeployerProcess(firstLog, settings);
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V1ModelVersion, Long, "v1", () => firstLog.Text);
        await Probes.WaitUntilAsync(async () => await LastOutcomeAsync(admin) == "Succeeded", Long, "v1's rollout to finish", () => firstLog.Text);
        await using var client = new CallRecorder(_rig.PredictorAddress);

        var v2 = await _rig.PushAsync(PredictorImages.V2);
        // The retire step is short; a kill just after it is as good a test (reconciliation then has nothing to undo).
        await Probes.WaitUntilAsync(
            async () => await PhaseAsync(admin) == phase || (phase == "retire" && await LastDigestAsync(admin) == v2),
            Long, $"the rollout to reach phase {phase}", () => firstLog.Text);
        first.Kill(entireProcessTree: true);
        await first.WaitForExitAsync();

        var secondLog = new LogCollector();
        _rig.StartDeployerProcess(secondLog, settings);
        await Probes.WaitUntilAsync(
            async () => await _rig.ModelVersionAsync() == images.V2ModelVersion && await LastOutcomeAsync(admin) == "Succeeded" && await LastDigestAsync(admin) == v2,
            Long, "v2 to be rolled out after the restart", () => firstLog.Text + "\n---- second run ----\n" + secondLog.Text);

        using var status = JsonDocument.Parse(await StatusTextAsync(admin));
        var live = status.RootElement.GetProperty("liveSlot").GetString()!;
        Assert.True(await _rig.IsServingAsync());
        await AssertOnlyEdgeAndLiveSlotAsync(live);
        Assert.Empty(client.Failures);
    }

    [Fact]
    public async Task EdgeRestartedOrRemoved_RoutesToTheLiveSlotAgain()
    {
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen());
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await WaitForRolloutAsync(deployer, v2, "Succeeded");
        await deployer.DisposeAsync();

        // With the deployer gone, the edge restarted alone routes from its file: the live slot, not blue by default.
        await Cli.RunAsync(["restart", _rig.EdgeName]);
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V2ModelVersion, Long, "the restarted edge to route to v2");

        // Removed: the next deployer creates it again from the same file.
        await Cli.RunAsync(["rm", "-f", _rig.EdgeName]);
        Assert.False(await _rig.IsServingAsync());
        var again = await _rig.StartDeployerAsync(_rig.BlueGreen());
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V2ModelVersion, Long, "the deployer to recreate the edge", () => again.Logs.Text);
        Assert.Contains("Edge '" + _rig.EdgeName + "' created", again.Logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecreateHost_IsMigratedBehindTheEdge_OnTheSameDigest()
    {
        var v1 = await _rig.PushAsync(PredictorImages.V1);
        var recreate = await _rig.StartDeployerAsync();
        await WaitForRolloutAsync(recreate, v1, "Succeeded");
        await recreate.DisposeAsync();

        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen());
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("liveSlot").GetString() == "blue" && await _rig.InspectAsync(_rig.ContainerName) is null,
            Long, "the migration to the blue slot", () => deployer.Logs.Text);
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V1ModelVersion, Long, "v1 through the edge", () => deployer.Logs.Text);
        Assert.Equal(v1, (await _rig.InspectAsync(_rig.BlueName))!.Config.Labels["org.studentperformance.deployer.digest"]);
        await AssertOnlyEdgeAndLiveSlotAsync("blue");
    }

    private async Task AssertOnlyEdgeAndLiveSlotAsync(string live, Func<string>? deployerLog = null)
    {
        var expected = new[] { _rig.EdgeName, _rig.ContainerName + "-" + live };
        await Probes.WaitUntilAsync(async () => (await OursAsync()).Order().SequenceEqual(expected.Order()), Long, $"only the edge and the {live} slot to remain",
            () => string.Join(", ", OursAsync().GetAwaiter().GetResult()) + (deployerLog is null ? "" : "\n" + deployerLog()));
        Assert.True((await _rig.InspectAsync(_rig.ContainerName + "-" + live))!.State.Running);
    }

    private async Task<IReadOnlyList<string>> OursAsync()
    {
        var names = await Cli.RunAsync(["ps", "-a", "--filter", $"name={_rig.ContainerName}", "--format", "{{.Names}}"]);
        return [.. names.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }

    /// <summary>Waits until the first rollout serves <paramref name="modelVersion"/> through the edge; returns the live slot.</summary>
    private async Task<string> WaitForVersionAsync(DeployerInstance deployer, string modelVersion, bool rolloutDone = true)
    {
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == modelVersion, Long, $"model version {modelVersion} through the edge", () => deployer.Logs.Text);
        if (rolloutDone)
        {
            await Probes.WaitUntilAsync(async () => await deployer.LastOutcomeAsync() == "Succeeded", Long, "the first rollout to commit", () => deployer.Logs.Text);
        }

        return (await deployer.StatusAsync()).GetProperty("liveSlot").GetString()!;
    }

    private static async Task<JsonElement> WaitForRolloutAsync(DeployerInstance deployer, string digest, string outcome)
    {
        JsonElement last = default;
        await Probes.WaitUntilAsync(
            async () =>
            {
                var status = await deployer.StatusAsync();
                last = status.GetProperty("lastRollout");
                return last.ValueKind == JsonValueKind.Object && last.GetProperty("digest").GetString() == digest && last.GetProperty("outcome").GetString() == outcome;
            },
            Long,
            $"a {outcome} rollout of {digest}",
            () => deployer.Logs.Text);
        return last;
    }

    private async Task<string> StatusTextAsync(int admin)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _rig.AdminToken);
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{admin}/status"));
    }

    private async Task<string?> Field(int admin, Func<JsonElement, string?> read)
    {
        try
        {
            using var status = JsonDocument.Parse(await StatusTextAsync(admin));
            return read(status.RootElement);
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    private Task<string?> PhaseAsync(int admin) => Field(admin, s => s.GetProperty("rolloutPhase").GetString());

    private Task<string?> LastOutcomeAsync(int admin) =>
        Field(admin, s => s.GetProperty("lastRollout") is { ValueKind: JsonValueKind.Object } last ? last.GetProperty("outcome").GetString() : null);

    private Task<string?> LastDigestAsync(int admin) =>
        Field(admin, s => s.GetProperty("lastRollout") is { ValueKind: JsonValueKind.Object } last ? last.GetProperty("digest").GetString() : null);
}
