using StudentPerformance.Deployer.Containers;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// How a new digest replaces the live one (<c>Deployer:Strategy</c>): <see cref="RolloutPlan"/> recreates the container
/// on the same ports, <see cref="BlueGreenStrategy"/> starts it beside the live slot behind the edge.
/// </summary>
internal interface IRolloutStrategy
{
    /// <summary>The container that serves clients now, or null when none does.</summary>
    Task<ContainerInfo?> LiveAsync(CancellationToken cancellationToken);

    /// <summary>Repairs what a crash, a kill or a failed rollback left behind. Runs on start and on every tick.</summary>
    Task RepairAsync(CancellationToken cancellationToken);

    /// <summary>Rolls out <paramref name="digest"/>. Never throws for a failed rollout; returns its record.</summary>
    Task<RolloutRecord> DeployAsync(string digest, string kind, CancellationToken cancellationToken);

    /// <summary>What <c>/status</c> shows of the strategy's own state (slots, edge), read each tick.</summary>
    Task<StrategyStatus> DescribeAsync(CancellationToken cancellationToken);
}

/// <summary>The strategy's part of <c>/status</c>.</summary>
public sealed record StrategyStatus(string Strategy, string? LiveSlot, string? CandidateSlot, string? RolloutPhase, EdgeStatus? Edge)
{
    public static StrategyStatus Recreate(string? phase) => new("Recreate", null, null, phase, null);
}

/// <summary>The edge as <c>/status</c> shows it: whether its runtime API answers, and each server's state.</summary>
public sealed record EdgeStatus(bool Reachable, IReadOnlyList<EdgeServerStatus> Servers)
{
    /// <summary>Why <c>Deployer:Edge:Image</c> could not be pulled (the running edge is kept), or null.</summary>
    public string? ImageProblem { get; init; }

    /// <summary>Why <c>Deployer:Edge:Tls:CertificatePath</c> is not what the edge serves (the old certificate serves), or null.</summary>
    public string? TlsProblem { get; init; }

    /// <summary>The certificate the edge serves (subject, SHA-1, expiry), or null without TLS.</summary>
    public string? Certificate { get; init; }
}

public sealed record EdgeServerStatus(string Backend, string Slot, string Admin, bool Up, string Status, int CurrentSessions);
