namespace StudentPerformance.Deployer.Rollout;

/// <summary>The live picture served by GET /status; written by the worker, read by the admin endpoint.</summary>
public sealed class DeployerStatus
{
    private readonly Lock _gate = new();
    private StatusSnapshot _snapshot;

    public DeployerStatus(string trackedImage, string mode) =>
        _snapshot = new StatusSnapshot(trackedImage, mode, false, null, null, null, null, null, null, null);

    public StatusSnapshot Snapshot
    {
        get
        {
            lock (_gate)
            {
                return _snapshot;
            }
        }
    }

    public bool Paused => Snapshot.Paused;

    public void Update(Func<StatusSnapshot, StatusSnapshot> change)
    {
        lock (_gate)
        {
            _snapshot = change(_snapshot);
        }
    }
}

public sealed record StatusSnapshot(
    string TrackedImage,
    string Mode,
    bool Paused,
    string? RunningDigest,
    string? RunningContainer,
    string? RegistryDigest,
    DateTimeOffset? LastCheck,
    string? LastCheckResult,
    string? LastError,
    string? ActiveRolloutId)
{
    /// <summary>Free bytes on Docker's data root at the last tick; null when it cannot be measured from here.</summary>
    public long? DiskFreeBytes { get; init; }

    /// <summary>The last tick found less free space than <c>Deployer:Disk:MinFreeMiB</c>.</summary>
    public bool DiskLow { get; init; }

    /// <summary>When free space was last measured (or the attempt failed).</summary>
    public DateTimeOffset? DiskCheckedAt { get; init; }

    /// <summary>
    /// Whether the live container carries the hardening <c>Deployer:Container:Hardening</c> asks for, as the engine
    /// reports it; null when there is no live container.
    /// </summary>
    public bool? LiveHardened { get; init; }

    /// <summary>The <c>Deployer:Container:Hardening:*</c> settings the live container does not carry.</summary>
    public IReadOnlyList<string> LiveHardeningDifferences { get; init; } = [];

    /// <summary>The live container is crash-looping outside a rollout, or null.</summary>
    public CrashLoopStatus? CrashLoop { get; init; }
}

/// <summary>The live container restarted <see cref="Restarts"/> times within <see cref="Window"/>.</summary>
public sealed record CrashLoopStatus(string Container, int Restarts, TimeSpan Window, DateTimeOffset DetectedAt);
