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
    string? ActiveRolloutId);
