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
    /// Makes <paramref name="layout"/>'s live slot take every new call: enables the slot, waits until the edge's own
    /// checks see it UP in every backend, then writes the file (naming it live, the other slot's standby enabled) and
    /// puts the other slot in drain (no new calls; in-flight ones finish) with its standby ready. Throws
    /// <see cref="EdgeSwitchException"/> when the slot does not come UP in time (the other slot still serves, the file
    /// is untouched), and <see cref="EdgeRuntimeApiException"/> or <see cref="IOException"/> when the edge or the disk
    /// fails midway: then both slots may take calls and the file may name either, so the caller must not remove
    /// either slot before the edge's state says which one serves.
    /// </summary>
    Task SwitchAsync(EdgeLayout layout, CancellationToken cancellationToken);

    /// <summary>
    /// After a rollout: drains the slot that is not <paramref name="layout"/>'s live one to maintenance (with its
    /// standby), then makes the live slot's own standby the backup, in the file and in the runtime state.
    /// </summary>
    Task<DrainResult> RetireAsync(EdgeLayout layout, CancellationToken cancellationToken);

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

    /// <summary>True when <paramref name="slot"/> is ready and its check passed (plain <c>UP</c>) in every backend of <paramref name="layout"/>.</summary>
    public bool IsUpEverywhere(EdgeSlot slot, EdgeLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return layout.Routes.All(r => Servers.Any(s => s.Backend == r.Backend && s.Slot == slot && s.Admin == EdgeAdminState.Ready && s.Status == "UP"));
    }

    /// <summary>
    /// True when the edge may send a new call to <paramref name="slot"/>: its server or its standby is not in
    /// maintenance in some backend.
    /// </summary>
    public bool MayRouteTo(EdgeSlot slot) => Servers.Concat(Standbys).Any(s => s.Slot == slot && s.Admin != EdgeAdminState.Maintenance);

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
