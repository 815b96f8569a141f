namespace Deployer.Tests.Support;

/// <summary>How an injected fault shows itself.</summary>
public enum FaultKind
{
    /// <summary>
    /// The call fails and does nothing: the engine answers an error, the disk refuses the write, the edge's runtime
    /// API refuses connections (for <see cref="FaultInjector.OutageLength"/>, longer than Deployer:Edge:RuntimeApiWait,
    /// as an edge that restarts or hits its socket's connection limit does).
    /// </summary>
    Throws,

    /// <summary>
    /// The call does what it was asked but its answer never comes: the caller waits its whole timeout (in fake time)
    /// and gets a timeout error. A write to disk lands and then reports an error (its fsync failed).
    /// </summary>
    TimesOut,
}

/// <summary>
/// Numbers every call the rollout makes to the engine, the edge (runtime API commands and file writes) and the state
/// store, and makes exactly one of them fail. With no target it only counts and names them: that run enumerates the
/// fault points.
/// </summary>
public sealed class FaultInjector
{
    public static readonly TimeSpan OutageLength = TimeSpan.FromSeconds(45);
    private readonly Lock _gate = new();
    private readonly List<string> _calls = [];
    private DateTimeOffset? _outageUntil;

    /// <summary>Counting is on only while this is true (during the rollout, not its setup or the reconciliation after it).</summary>
    public bool Armed { get; set; }

    /// <summary>The index (in <see cref="Calls"/>) of the call that fails, or null.</summary>
    public int? Target { get; init; }

    public FaultKind Kind { get; init; }

    /// <summary>Every counted call, in order, as "system: call".</summary>
    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>The fault that was injected, as "kind system: call", once it was.</summary>
    public string? Injected { get; private set; }

    /// <summary>Counts <paramref name="call"/>; returns the fault to inject into it, or null.</summary>
    public FaultKind? Next(string call)
    {
        lock (_gate)
        {
            if (!Armed)
            {
                return null;
            }

            _calls.Add(call);
            if (Target == _calls.Count - 1)
            {
                Injected = $"{Kind} {call}";
                return Kind;
            }

            return null;
        }
    }

    /// <summary>The runtime API refuses from <paramref name="now"/> for <see cref="OutageLength"/>.</summary>
    public void StartOutage(DateTimeOffset now)
    {
        lock (_gate)
        {
            _outageUntil = now + OutageLength;
        }
    }

    public bool InOutage(DateTimeOffset now)
    {
        lock (_gate)
        {
            return _outageUntil is { } until && now < until;
        }
    }
}
