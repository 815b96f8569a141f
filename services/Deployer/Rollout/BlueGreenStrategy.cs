using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// The <c>BlueGreen</c> strategy. The edge proxy holds the public ports; the live digest runs in one slot and the
/// candidate starts in the other. <see cref="BlueGreenPlan"/> rolls a digest out, <see cref="BlueGreenReconciler"/>
/// repairs what a kill or a fault left, and both keep the invariant through <see cref="BlueGreenSlots"/>.
/// </summary>
internal sealed class BlueGreenStrategy(
    BlueGreenPlan plan,
    BlueGreenReconciler reconciler,
    BlueGreenSlots slots,
    IContainerRuntime docker,
    IEdgeProxy edge,
    EdgeUpkeep upkeep,
    StateStore state,
    DeployerMetrics metrics) : IRolloutStrategy
{
    public Task<RolloutRecord> DeployAsync(string digest, string kind, CancellationToken cancellationToken) =>
        plan.DeployAsync(digest, kind, cancellationToken);

    public Task RepairAsync(CancellationToken cancellationToken) => reconciler.RepairAsync(cancellationToken);

    public async Task<ContainerInfo?> LiveAsync(CancellationToken cancellationToken) =>
        await docker.InspectAsync(slots.Name(slots.Live), cancellationToken).ConfigureAwait(false);

    public async Task<StrategyStatus> DescribeAsync(CancellationToken cancellationToken)
    {
        var active = state.Current.ActiveSlotRollout;
        var edgeState = await edge.GetStateAsync(cancellationToken).ConfigureAwait(false);
        metrics.EdgeReachable.Set(edgeState is null ? 0 : 1);
        var servers = edgeState?.Servers.Select(s => new EdgeServerStatus(s.Backend, s.Slot.ServerName(), s.Admin.ToString(), s.Up, s.Status, s.CurrentSessions)).ToList();
        return new StrategyStatus(
            nameof(RolloutStrategy.BlueGreen),
            edge.ConfiguredLiveSlot()?.ServerName(),
            active?.Candidate,
            active?.Phase,
            new EdgeStatus(edgeState is not null, servers ?? []) { ImageProblem = upkeep.ImageProblem, TlsProblem = upkeep.TlsProblem, Certificate = upkeep.Certificate?.ToString() });
    }
}
