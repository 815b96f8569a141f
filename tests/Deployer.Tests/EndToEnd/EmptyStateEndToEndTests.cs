using System.Text.Json;
using Deployer.Tests.Support;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// <c>state.json</c> truncated to 0 bytes while the deployer is stopped (a power cut before the data reached the disk),
/// with the real engine, registry and HAProxy: the deployer must start, rebuild its state (from the last good copy, or
/// from the containers' labels and the edge's file when that copy is gone too), and end with the edge on the SERVING
/// slot it was on, the file naming it, and nothing else running.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed class EmptyStateEndToEndTests(PredictorImages images) : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(180);
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    private string StateFile => Path.Combine(_rig.StateDirectory, "state.json");

    [Fact]
    public async Task EmptyStateFileAtStart_WithAndWithoutItsLastGoodCopy_DeployerRebuildsAndKeepsTheLiveSlot()
    {
        // Two rollouts, so the live slot is green: a deployer that forgot everything and fell back to blue would show.
        await _rig.PushAsync(PredictorImages.V1);
        var first = await _rig.StartDeployerAsync(_rig.BlueGreen());
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V1ModelVersion && await first.LastOutcomeAsync() == "Succeeded",
            Long, "v1 to be live", () => first.Logs.Text);
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V2ModelVersion && await LastDigestAsync(first) == v2 && await first.LastOutcomeAsync() == "Succeeded",
            Long, "v2 to be live", () => first.Logs.Text);
        var live = (await first.StatusAsync()).GetProperty("liveSlot").GetString()!;
        var liveId = (await _rig.InspectAsync(_rig.ContainerName + "-" + live))!.ID;
        await first.DisposeAsync();

        // No last good copy: rebuilt from the containers' labels and the edge's file.
        await File.WriteAllBytesAsync(StateFile, []);
        File.Delete(StateFile + ".bak");
        var rebuilt = await _rig.StartDeployerAsync(_rig.BlueGreen());
        await AssertConvergedAsync(rebuilt, live, liveId, v2);
        Assert.True(rebuilt.Logs.Contains("starting from an empty state"), rebuilt.Logs.Text);
        // It records the live digest as good again, so POST /rollback and the fleet have a digest to go on from.
        await Probes.WaitUntilAsync(() => Task.FromResult(StateNames(v2)), Long, $"state.json to be written again, naming {v2}", () => rebuilt.Logs.Text);
        await rebuilt.DisposeAsync();

        // With the last good copy beside it: read from the copy.
        await File.WriteAllBytesAsync(StateFile, []);
        Assert.True(File.Exists(StateFile + ".bak"));
        var fromCopy = await _rig.StartDeployerAsync(_rig.BlueGreen());
        await AssertConvergedAsync(fromCopy, live, liveId, v2);
        Assert.True(fromCopy.Logs.Contains("could not be read"), fromCopy.Logs.Text);
        Assert.False(fromCopy.Logs.Contains("starting from an empty state"), fromCopy.Logs.Text);
    }

    /// <summary>
    /// The edge routes to the same SERVING slot (the same container: nothing was rolled out again), the edge's file
    /// names it, v2 runs, and only the edge and that slot exist, after the deployer has reconciled at least twice.
    /// </summary>
    private async Task AssertConvergedAsync(DeployerInstance deployer, string live, string liveId, string digest)
    {
        await deployer.WaitForMoreAsync("deployer_checks_total", 2, Long);
        await Probes.WaitUntilAsync(
            async () => await deployer.StatusAsync() is var s && s.GetProperty("liveSlot").GetString() == live
                && s.GetProperty("runningDigest").GetString() == digest && s.GetProperty("edge").GetProperty("reachable").GetBoolean()
                && !s.GetProperty("rolloutInProgress").GetBoolean(),
            Long, $"the deployer to report slot {live} live with {digest}", () => deployer.Logs.Text);
        Assert.Equal(images.V2ModelVersion, await _rig.ModelVersionAsync());
        Assert.True(await _rig.IsServingAsync());
        Assert.Contains("# live-slot: " + live, await File.ReadAllTextAsync(Path.Combine(_rig.StateDirectory, "edge", "haproxy.cfg")), StringComparison.Ordinal);
        Assert.Equal(liveId, (await _rig.InspectAsync(_rig.ContainerName + "-" + live))!.ID);
        var expected = new[] { _rig.EdgeName, _rig.ContainerName + "-" + live }.Order().ToList();
        Assert.Equal(expected, (await OursAsync()).Order().ToList());
        Assert.DoesNotContain(digest, await deployer.QuarantinedAsync());
    }

    private bool StateNames(string digest)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(StateFile));
            return document.RootElement.EnumerateObject().Any(p => p.Value.ToString().Contains(digest, StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            return false;
        }
    }

    private static async Task<string?> LastDigestAsync(DeployerInstance deployer) =>
        (await deployer.StatusAsync()).GetProperty("lastRollout") is { ValueKind: JsonValueKind.Object } last ? last.GetProperty("digest").GetString() : null;

    private async Task<IReadOnlyList<string>> OursAsync() =>
        [.. (await Cli.RunAsync(["ps", "-a", "--filter", $"name={_rig.ContainerName}", "--format", "{{.Names}}"]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
}
