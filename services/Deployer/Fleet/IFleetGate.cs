namespace StudentPerformance.Deployer.Fleet;

/// <summary>
/// The worker's two questions to the fleet: may this host roll a digest out now (and as what), and what came of it.
/// Never throws for the table: an unreachable table is <see cref="FleetGo.Unavailable"/>.
/// </summary>
public interface IFleetGate
{
    /// <summary>Asked before a rollout of <paramref name="digest"/>; <paramref name="runningDigest"/> is null on a host that runs nothing.</summary>
    Task<FleetClearance> ClearAsync(string image, string digest, string? runningDigest, CancellationToken cancellationToken);

    /// <summary>Told once the rollout's record is known: a canary writes the verdict, every host its own entry.</summary>
    Task ReportAsync(string image, FleetReport report, CancellationToken cancellationToken);

    /// <summary>Told after an operator rolled <paramref name="digest"/> back on this host.</summary>
    Task RecordRollbackAsync(string image, string digest, CancellationToken cancellationToken);

    /// <summary>The fleet's record of <paramref name="digest"/> as the table has it now, and this host's part, for /status.</summary>
    Task<FleetView> DescribeAsync(string image, string? digest, CancellationToken cancellationToken);
}

/// <summary>Receives fleet events (metrics, webhook). Must not throw.</summary>
public interface IFleetEvents
{
    Task PublishAsync(FleetEvent fleetEvent, CancellationToken cancellationToken);
}

/// <summary><c>Deployer:Fleet:Enabled</c> is false: every digest is this host's own decision, as before.</summary>
internal sealed class SingleHostGate : IFleetGate
{
    public Task<FleetView> DescribeAsync(string image, string? digest, CancellationToken cancellationToken) =>
        Task.FromResult(new FleetView(false, null, null, null, null, null, null));

    public Task<FleetClearance> ClearAsync(string image, string digest, string? runningDigest, CancellationToken cancellationToken) =>
        Task.FromResult(FleetClearance.Alone(digest));

    public Task ReportAsync(string image, FleetReport report, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task RecordRollbackAsync(string image, string digest, CancellationToken cancellationToken) => Task.CompletedTask;
}
