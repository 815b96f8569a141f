using StudentPerformance.Deployer.Containers;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>What reconciliation must do before anything else, judged from the two containers' states alone.</summary>
public enum RepairAction
{
    /// <summary>Nothing to repair.</summary>
    None,

    /// <summary>The managed container exists but is down and there is nothing to fall back to: start it.</summary>
    StartCurrent,

    /// <summary>The managed container is missing or down and <c>-previous</c> exists: put the previous one back.</summary>
    RestorePrevious,

    /// <summary>Both exist and the new one runs: a rollout was interrupted after the swap; gate it again.</summary>
    FinishInterruptedRollout,
}

/// <summary>What a tick does with the registry's answer.</summary>
public enum RolloutAction
{
    /// <summary>The tag does not exist (yet).</summary>
    NoImage,

    UpToDate,

    /// <summary>The unmanaged container already runs the tracked digest: adopt it, change nothing.</summary>
    Adopt,

    /// <summary>The digest failed before; it stays refused until the tag moves.</summary>
    Quarantined,

    Paused,

    /// <summary>Monitor-only mode: report what would happen.</summary>
    WouldDeploy,

    Deploy,
}

public sealed record RolloutDecision(RolloutAction Action, string? Digest);

/// <summary>The rollout's decisions, free of I/O, so that each rule has a unit test.</summary>
public static class Decisions
{
    public static RepairAction Repair(ContainerInfo? current, ContainerInfo? previous) => (current, previous) switch
    {
        (null, null) => RepairAction.None,
        (null, not null) => RepairAction.RestorePrevious,
        ({ State.IsDown: true }, not null) => RepairAction.RestorePrevious,
        ({ State.IsDown: true }, null) => RepairAction.StartCurrent,
        (_, not null) => RepairAction.FinishInterruptedRollout,
        _ => RepairAction.None,
    };

    /// <summary>
    /// The digest the running container was made from: the deployer's label, or for an unmanaged container the
    /// RepoDigest of <paramref name="imageName"/> that matches <paramref name="registryDigest"/> (adoption).
    /// </summary>
    public static string? RunningDigest(ContainerInfo? current, string imageName, string? registryDigest)
    {
        if (current is null)
        {
            return null;
        }

        if (current.DeployedDigest is { } labelled)
        {
            return labelled;
        }

        var ours = current.RepoDigests
            .Where(d => d.StartsWith(imageName + "@", StringComparison.Ordinal))
            .Select(d => d[(imageName.Length + 1)..])
            .ToList();
        return registryDigest is not null && ours.Contains(registryDigest, StringComparer.Ordinal)
            ? registryDigest
            : ours.FirstOrDefault();
    }

    public static RolloutDecision Rollout(
        string? registryDigest,
        ContainerInfo? current,
        string imageName,
        IReadOnlyCollection<string> quarantined,
        bool paused,
        DeployerMode mode)
    {
        if (registryDigest is null)
        {
            return new(RolloutAction.NoImage, null);
        }

        var running = RunningDigest(current, imageName, registryDigest);
        if (string.Equals(running, registryDigest, StringComparison.Ordinal) && current is { State.IsDown: false })
        {
            return new(current.DeployedDigest is null ? RolloutAction.Adopt : RolloutAction.UpToDate, registryDigest);
        }

        if (quarantined.Contains(registryDigest, StringComparer.Ordinal))
        {
            return new(RolloutAction.Quarantined, registryDigest);
        }

        if (paused)
        {
            return new(RolloutAction.Paused, registryDigest);
        }

        return new(mode == DeployerMode.Monitor ? RolloutAction.WouldDeploy : RolloutAction.Deploy, registryDigest);
    }

    /// <summary>
    /// Image references of this repository to remove: everything beyond the newest <paramref name="keep"/>, never
    /// an image a container still uses. "Newest" is the order the deployer rolled digests out
    /// (<paramref name="deployedNewestFirst"/>), because build times say nothing about what ran last; images it
    /// never deployed rank after those, by creation time.
    /// </summary>
    public static IReadOnlyList<string> ImagesToPrune(
        IReadOnlyList<ImageInfo> images,
        int keep,
        IReadOnlyCollection<string> imageIdsInUse,
        IReadOnlyList<string> deployedNewestFirst)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(deployedNewestFirst);
        int Rank(ImageInfo image)
        {
            var ranks = image.RepoDigests
                .Select(d => d[(d.IndexOf('@', StringComparison.Ordinal) + 1)..])
                .Select(d => deployedNewestFirst.ToList().IndexOf(d))
                .Where(i => i >= 0)
                .ToList();
            return ranks.Count == 0 ? int.MaxValue : ranks.Min();
        }

        return images
            .OrderBy(Rank)
            .ThenByDescending(i => i.Created)
            .Skip(Math.Max(keep, 0))
            .Where(i => !imageIdsInUse.Contains(i.Id, StringComparer.Ordinal))
            .SelectMany(i => i.RepoTags.Concat(i.RepoDigests))
            .ToList();
    }

    /// <summary>Delay before the next poll: the interval plus a uniform jitter in [0, jitter).</summary>
    public static TimeSpan NextPoll(TimeSpan interval, TimeSpan jitter, double random01) =>
        interval + TimeSpan.FromTicks((long)(jitter.Ticks * Math.Clamp(random01, 0, 1)));

    /// <summary>Quarantine entries that still apply: an entry ends when the tag moves to another digest.</summary>
    public static IReadOnlyList<QuarantineEntry> StillQuarantined(IReadOnlyList<QuarantineEntry> entries, string? registryDigest) =>
        registryDigest is null
            ? entries
            : entries.Where(e => string.Equals(e.Digest, registryDigest, StringComparison.Ordinal)).ToList();
}

/// <summary>
/// Judges the health gate from a stream of observations: SERVING must hold for <c>stableFor</c> without a
/// restart, before <c>deadline</c> (counted from creation).
/// </summary>
public sealed class HealthGate
{
    private readonly TimeSpan _stableFor;
    private readonly TimeSpan _deadline;
    private readonly TimeProvider _time;
    private readonly long _started;
    private readonly int _initialRestarts;
    private long? _servingSince;

    public HealthGate(TimeSpan stableFor, TimeSpan deadline, int initialRestarts, TimeProvider time)
    {
        _stableFor = stableFor;
        _deadline = deadline;
        _time = time;
        _initialRestarts = initialRestarts;
        _started = time.GetTimestamp();
    }

    /// <summary>Time from the gate's start to the first SERVING answer, or null before it.</summary>
    public TimeSpan? FirstServingAfter { get; private set; }

    public GateVerdict Observe(bool serving, ContainerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var now = _time.GetTimestamp();
        if (state.IsDown)
        {
            return GateVerdict.Fail($"the container stopped (status {state.Status}, exit code {state.ExitCode})");
        }

        if (state.RestartCount > _initialRestarts)
        {
            return GateVerdict.Fail($"the container restarted {state.RestartCount - _initialRestarts} time(s)");
        }

        if (serving)
        {
            FirstServingAfter ??= _time.GetElapsedTime(_started, now);
            _servingSince ??= now;
            if (_time.GetElapsedTime(_servingSince.Value, now) >= _stableFor)
            {
                return GateVerdict.Pass;
            }
        }
        else
        {
            _servingSince = null;
        }

        return _time.GetElapsedTime(_started, now) >= _deadline
            ? GateVerdict.Fail(_servingSince is null && FirstServingAfter is null
                ? $"not SERVING within {_deadline}"
                : $"not SERVING steadily for {_stableFor} within {_deadline}")
            : GateVerdict.Pending;
    }
}

/// <summary>
/// Judges the bake that follows the gate: for <c>bakeTime</c> the new container must not exit, restart or fail
/// <see cref="FailedProbesAllowed"/> health checks in a row. One failed probe is forgiven: a 1 s probe can time out
/// on a loaded host while the container serves.
/// </summary>
public sealed class BakeWatch
{
    public const int FailedProbesAllowed = 1;
    private readonly TimeSpan _bakeTime;
    private readonly int _initialRestarts;
    private readonly TimeProvider _time;
    private readonly long _started;
    private int _failedInARow;

    public BakeWatch(TimeSpan bakeTime, int initialRestarts, TimeProvider time)
    {
        _bakeTime = bakeTime;
        _initialRestarts = initialRestarts;
        _time = time;
        _started = time.GetTimestamp();
    }

    public GateVerdict Observe(bool serving, ContainerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.IsDown)
        {
            return GateVerdict.Fail($"during the bake the container stopped (status {state.Status}, exit code {state.ExitCode})");
        }

        if (state.RestartCount > _initialRestarts || state.Restarting)
        {
            return GateVerdict.Fail($"during the bake the container restarted {Math.Max(1, state.RestartCount - _initialRestarts)} time(s)");
        }

        _failedInARow = serving ? 0 : _failedInARow + 1;
        if (_failedInARow > FailedProbesAllowed)
        {
            return GateVerdict.Fail($"during the bake {_failedInARow} health checks in a row were not SERVING");
        }

        return _time.GetElapsedTime(_started) >= _bakeTime ? GateVerdict.Pass : GateVerdict.Pending;
    }
}

/// <summary>
/// Counts the live container's restarts outside any bake. A crash loop is <c>maxRestarts</c> restarts within
/// <c>window</c>; it is reported, not rolled back.
/// </summary>
public sealed class CrashLoopWatch(TimeSpan window, int maxRestarts, TimeProvider time)
{
    private readonly Queue<(long At, int Restarts)> _seen = new();
    private string? _containerId;

    /// <summary>Restarts counted in the window at the last observation.</summary>
    public int RecentRestarts { get; private set; }

    /// <summary>Records the live container's restart count; true while it restarted at least <c>maxRestarts</c> times within the window.</summary>
    public bool Observe(string containerId, int restartCount)
    {
        var now = time.GetTimestamp();
        if (containerId != _containerId)
        {
            // A new container (a rollout, a repair) starts its own count.
            _seen.Clear();
            _containerId = containerId;
        }

        _seen.Enqueue((now, restartCount));
        while (_seen.Count > 1 && time.GetElapsedTime(_seen.Peek().At, now) > window)
        {
            _seen.Dequeue();
        }

        RecentRestarts = restartCount - _seen.Peek().Restarts;
        return RecentRestarts >= maxRestarts;
    }

    public void Reset()
    {
        _seen.Clear();
        _containerId = null;
        RecentRestarts = 0;
    }
}

public sealed record GateVerdict(GateStatus Status, string Reason)
{
    public static readonly GateVerdict Pass = new(GateStatus.Passed, "SERVING and stable");
    public static readonly GateVerdict Pending = new(GateStatus.Pending, "waiting");

    public static GateVerdict Fail(string reason) => new(GateStatus.Failed, reason);
}

public enum GateStatus
{
    Pending,
    Passed,
    Failed,
}

/// <summary>Disk guard rule: is there room to pull?</summary>
public static class DiskRule
{
    public static bool HasRoom(long freeBytes, long minFreeMiB) => freeBytes >= minFreeMiB * 1024L * 1024L;
}
