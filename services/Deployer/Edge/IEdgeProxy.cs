namespace StudentPerformance.Deployer.Edge;

/// <summary>
/// The edge proxy in front of the blue and green slots. Its configuration file is the durable truth (it names the
/// live slot); the runtime state is applied on top and is lost when the edge restarts, which the file covers.
/// </summary>
public interface IEdgeProxy
{
    /// <summary>
    /// Writes the configuration for <paramref name="layout"/> (atomically). A running edge keeps its runtime state;
    /// call this before (re)creating the edge container, and <see cref="SwitchAsync"/> to move traffic.
    /// </summary>
    Task WriteConfigAsync(EdgeLayout layout, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the configuration for <paramref name="layout"/> unless the file already says exactly that. True when it
    /// wrote: a running edge still runs what it read at its start and must restart to apply it.
    /// </summary>
    Task<bool> EnsureConfigAsync(EdgeLayout layout, CancellationToken cancellationToken);

    /// <summary>The live slot the configuration file names, or null when there is no file yet.</summary>
    EdgeSlot? ConfiguredLiveSlot();

    /// <summary>
    /// Makes <paramref name="layout"/>'s live slot take every new call: writes the file, enables the slot, waits until
    /// the edge's own checks see it UP in every backend, then puts the other slot in drain (no new calls; in-flight
    /// ones finish). Throws <see cref="EdgeSwitchException"/> when the slot does not come UP in time; then the other
    /// slot still serves and the file names it again.
    /// </summary>
    Task SwitchAsync(EdgeLayout layout, CancellationToken cancellationToken);

    /// <summary>
    /// Waits until <paramref name="slot"/> has no call in flight through the edge (or the drain timeout passes), then
    /// puts it in maintenance and cuts what is left.
    /// </summary>
    Task<DrainResult> DrainAsync(EdgeSlot slot, CancellationToken cancellationToken);

    /// <summary>The edge's servers as the runtime API reports them, or null when the edge does not answer.</summary>
    Task<EdgeState?> GetStateAsync(CancellationToken cancellationToken);
}

/// <summary>How a drain ended: whether every call finished by itself, and how many were cut at the timeout.</summary>
public sealed record DrainResult(bool Clean, int CutSessions, TimeSpan Elapsed);

/// <summary>The administrative state an operator or the deployer set on a server.</summary>
public enum EdgeAdminState
{
    Ready,
    Drain,
    Maintenance,
}

/// <summary>One slot's server in one edge backend.</summary>
public sealed record EdgeServerState(string Backend, EdgeSlot Slot, string Address, EdgeAdminState Admin, bool Up, string Status, int CurrentSessions);

/// <summary>
/// The edge as the runtime API reports it: each slot's server in every backend, and apart from them each slot's standby
/// (backup) server, which only takes calls while no live server is up.
/// </summary>
public sealed record EdgeState(IReadOnlyList<EdgeServerState> Servers, IReadOnlyList<EdgeServerState> Standbys)
{
    public EdgeState(IReadOnlyList<EdgeServerState> servers)
        : this(servers, [])
    {
    }

    /// <summary>The slot that is ready and UP in every backend, or null when none or both are.</summary>
    public EdgeSlot? Live
    {
        get
        {
            var live = Enum.GetValues<EdgeSlot>()
                .Where(slot => Servers.Where(s => s.Slot == slot) is var mine && mine.Any() && mine.All(s => s.Admin == EdgeAdminState.Ready && s.Up))
                .ToList();
            return live.Count == 1 ? live[0] : null;
        }
    }

    /// <summary>Calls in flight on <paramref name="slot"/> across backends, through its server and its standby.</summary>
    public int Sessions(EdgeSlot slot) => Servers.Concat(Standbys).Where(s => s.Slot == slot).Sum(s => s.CurrentSessions);
}

/// <summary>A switch could not complete: the new slot never came UP in the edge's checks.</summary>
public sealed class EdgeSwitchException : Exception
{
    public EdgeSwitchException()
    {
    }

    public EdgeSwitchException(string message) : base(message)
    {
    }

    public EdgeSwitchException(string message, Exception inner) : base(message, inner)
    {
    }
}
