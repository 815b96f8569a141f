using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// What the blue/green rollout and its reconciliation share: the two slots' names and layouts, the edge's word on
/// which slot serves, the switch and the drain with their metrics, and the one guard every stop or removal of a slot
/// goes through (<see cref="RemoveAsync"/>: the invariant in docs/edge.md).
/// </summary>
internal sealed class BlueGreenSlots(
    IContainerRuntime docker,
    IEdgeProxy edge,
    IOptions<ContainerSpecOptions> container,
    IOptions<EdgeOptions> edgeOptions,
    DeployerMetrics metrics,
    TimeProvider time,
    ILogger<BlueGreenStrategy> logger)
{
    private static readonly TimeSpan EdgePollInterval = TimeSpan.FromMilliseconds(100);

    public ContainerSpecOptions Container { get; } = container.Value;

    public EdgeOptions EdgeSettings { get; } = edgeOptions.Value;

    /// <summary>The slot the edge sends calls to, as its configuration file says (blue before the first rollout).</summary>
    public EdgeSlot Live => edge.ConfiguredLiveSlot() ?? EdgeSlot.Blue;

    public IReadOnlyList<string> Names => [Name(EdgeSlot.Blue), Name(EdgeSlot.Green)];

    public EdgeLayout Layout(EdgeSlot live) =>
        EdgeLayout.Create(ContainerSpecFactory.Bindings(Container), Container.GrpcPort, EdgeSettings, live);

    public string Name(EdgeSlot slot) => SlotContainer.Name(Container.Name, slot);

    /// <summary>New calls go to <paramref name="live"/> once the edge's checks show it UP; timed in <c>deployer_edge_switch_seconds</c>.</summary>
    public async Task SwitchAsync(EdgeSlot live, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        try
        {
            await edge.SwitchAsync(Layout(live), ct).ConfigureAwait(false);
        }
        catch (EdgeSwitchException)
        {
            metrics.EdgeSwitch.WithLabels("failed").Observe(time.GetElapsedTime(started).TotalSeconds);
            throw;
        }

        metrics.EdgeSwitch.WithLabels("ok").Observe(time.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>Drains the slot other than <paramref name="live"/> to maintenance and writes the file naming <paramref name="live"/> alone.</summary>
    public async Task RetireOtherAsync(EdgeSlot live, CancellationToken ct)
    {
        var drained = await edge.RetireAsync(Layout(live), ct).ConfigureAwait(false);
        metrics.EdgeDrain.Observe(drained.Elapsed.TotalSeconds);
        metrics.EdgeDrainCutCalls.Inc(drained.CutSessions);
    }

    /// <summary>Throws unless the edge's runtime state shows <paramref name="slot"/> ready and UP everywhere, and the file names it.</summary>
    public async Task RequireServingAsync(EdgeSlot slot, CancellationToken ct)
    {
        var now = await EdgeStateAsync(ct).ConfigureAwait(false)
            ?? throw new EdgeRuntimeApiException($"the edge's runtime API ({EdgeSettings.RuntimeApi}) did not answer within Deployer:Edge:RuntimeApiWait, so it cannot confirm slot {slot}", isTransient: true);
        if (!now.IsUpEverywhere(slot, Layout(slot)))
        {
            throw new RolloutStepException($"the edge does not show slot {slot} UP in every backend", imageAtFault: true);
        }

        if (edge.ConfiguredLiveSlot() != slot)
        {
            throw new RolloutStepException($"the edge's file does not name slot {slot} live", imageAtFault: false);
        }
    }

    public async Task<bool> RunsAsync(EdgeSlot slot, CancellationToken ct) =>
        await docker.InspectAsync(Name(slot), ct).ConfigureAwait(false) is { State.Running: true };

    /// <summary>
    /// The invariant (docs/edge.md): stops and removes <paramref name="slot"/>'s container only when the edge's runtime
    /// state shows either that the other slot runs and is ready and UP in every backend (and the file names it), or
    /// that the edge routes no call to this one (every server of it in maintenance or down, and the file not naming it
    /// while the other serves). Otherwise throws, and the container stays for reconciliation.
    /// </summary>
    public async Task<bool> RemoveAsync(EdgeSlot slot, CancellationToken ct)
    {
        var name = Name(slot);
        if (await docker.InspectAsync(name, ct).ConfigureAwait(false) is null)
        {
            return false;
        }

        var now = await EdgeStateAsync(ct).ConfigureAwait(false);
        var reason = now is null ? "the edge's runtime API does not answer, so nothing shows that another slot serves" : WhyNotRemovable(slot, now);
        if (reason is not null && reason.Length > 0)
        {
            Log.SlotKept(logger, name, reason);
            throw new RolloutStepException($"'{name}' was not removed: {reason}", imageAtFault: false);
        }

        if (reason is null && !await RunsAsync(slot.Other(), ct).ConfigureAwait(false))
        {
            // The edge's word is that the other slot serves, but its container does not run: look again next tick.
            throw new RolloutStepException($"'{name}' was not removed: '{Name(slot.Other())}' does not run", imageAtFault: false);
        }

        await docker.StopAsync(name, Container.StopTimeout, ct).ConfigureAwait(false);
        return await docker.RemoveAsync(name, ct).ConfigureAwait(false);
    }

    /// <summary>Null when the other slot serves (per the edge); empty when the edge routes nothing to <paramref name="slot"/>; else why not.</summary>
    private string? WhyNotRemovable(EdgeSlot slot, EdgeState now)
    {
        var other = slot.Other();
        var fileLive = edge.ConfiguredLiveSlot();
        if (fileLive == other && now.IsUpEverywhere(other, Layout(other)))
        {
            return null;
        }

        var routed = now.Servers.Concat(now.Standbys).Any(s => s.Slot == slot && s.Admin != EdgeAdminState.Maintenance && s.Up);
        var otherRouted = now.Servers.Concat(now.Standbys).Any(s => s.Slot == other && s.Admin != EdgeAdminState.Maintenance && s.Up);
        if (!routed && (fileLive != slot || !otherRouted))
        {
            return "";
        }

        return $"the edge may route to it (file names {fileLive?.ServerName() ?? "no slot"}) and does not show slot {other.ServerName()} UP in every backend";
    }

    /// <summary>The edge's runtime state, asked again while it does not answer, within <c>Deployer:Edge:RuntimeApiWait</c>; null after that.</summary>
    public async Task<EdgeState?> EdgeStateAsync(CancellationToken ct)
    {
        EdgeState? now = null;
        await Wait.UntilAsync(async c => (now = await edge.GetStateAsync(c).ConfigureAwait(false)) is not null, EdgePollInterval, EdgeSettings.RuntimeApiWait, time, ct).ConfigureAwait(false);
        return now;
    }
}
