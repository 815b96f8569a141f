using System.Globalization;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Fleet;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.Deployer.Registry;
using StudentPerformance.Deployer.Rollout;

namespace StudentPerformance.Deployer.Admin;

/// <summary>One thing an operator should look at, as the dashboard and <c>Deployer status</c> list it.</summary>
public sealed record StatusWarning(string Kind, string Message);

/// <summary>What serves now: the slot (BlueGreen), the container, its digest and model version, and since when.</summary>
public sealed record LiveStatus(string? Slot, string? Container, string? Digest, string? ModelVersion, string? ImageVersion, DateTimeOffset? Since);

/// <summary>
/// GET /status: the worker's last tick, the persisted state, the rollout history with its steps, the last quality-gate
/// report, the edge and the warnings that follow from them. The engine and the edge are asked now (a rollout holds the
/// loop, and its phase is what an operator asks about), each bounded so that a hung engine still leaves a page.
/// </summary>
internal sealed class StatusReport(DeployerStatus status, StateStore state, QualityGateHistory quality, IRolloutStrategy strategy, DeployerMetrics metrics, IFleetGate fleet, IImageRegistry registry)
{
    /// <summary>How long /status waits for the engine and the edge before it answers without them.</summary>
    public static readonly TimeSpan LiveReadTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Registry checks failed in a row before the status warns (the alert uses its own threshold).</summary>
    public const int RegistryFailuresWarning = 3;

    public async Task<object> BuildAsync(CancellationToken cancellationToken)
    {
        var snapshot = status.Snapshot;
        var persisted = state.Current;
        var history = state.History;
        var warnings = new List<StatusWarning>();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(LiveReadTimeout);
        var slots = await ReadAsync<StrategyStatus>(async () => await strategy.DescribeAsync(bounded.Token).ConfigureAwait(false), "edge", warnings, cancellationToken).ConfigureAwait(false)
            ?? new StrategyStatus("unknown", null, null, null, null);
        var container = await ReadAsync(() => strategy.LiveAsync(bounded.Token), "docker", warnings, cancellationToken).ConfigureAwait(false);
        var fleetView = await ReadAsync<FleetView>(async () => await fleet.DescribeAsync(registry.ImageName, snapshot.RegistryDigest, bounded.Token).ConfigureAwait(false), "fleet", warnings, cancellationToken).ConfigureAwait(false);
        var gate = quality.Last;
        var entries = history.Entries;
        warnings.AddRange(Warnings(snapshot, persisted, slots, history.WriteError, metrics.RegistryFailuresInARow.Value));
        return new
        {
            trackedImage = snapshot.TrackedImage,
            mode = snapshot.Mode,
            paused = snapshot.Paused,
            runningContainer = snapshot.RunningContainer,
            runningDigest = snapshot.RunningDigest,
            registryDigest = snapshot.RegistryDigest,
            lastCheck = snapshot.LastCheck,
            lastCheckResult = snapshot.LastCheckResult,
            lastError = snapshot.LastError,
            rolloutInProgress = snapshot.ActiveRolloutId is not null,
            liveContainerHardened = snapshot.LiveHardened,
            liveContainerHardeningDifferences = snapshot.LiveHardeningDifferences,
            dockerDataRoot = new { freeBytes = snapshot.DiskFreeBytes, low = snapshot.DiskLow, checkedAt = snapshot.DiskCheckedAt },
            lastRollout = persisted.LastRollout,
            quarantined = persisted.Quarantined,
            goodDigests = persisted.GoodDigests,
            qualityGate = gate,
            strategy = slots.Strategy,
            liveSlot = slots.LiveSlot,
            candidateSlot = slots.CandidateSlot,
            rolloutPhase = slots.RolloutPhase,
            edge = slots.Edge,
            crashLoop = snapshot.CrashLoop,
            fleet = fleetView,
            live = Live(slots, container, snapshot, entries, gate),
            history = entries,
            warnings,
        };
    }

    /// <summary>The warnings that follow from the facts; pure, so every case is tested without an engine.</summary>
    public static IEnumerable<StatusWarning> Warnings(StatusSnapshot snapshot, DeployerState persisted, StrategyStatus slots, string? historyWriteError, double registryFailuresInARow)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(persisted);
        ArgumentNullException.ThrowIfNull(slots);
        if (snapshot.CrashLoop is { } loop)
        {
            yield return new("crash-loop", $"'{loop.Container}' restarted {loop.Restarts} times within {loop.Window}; POST /rollback goes back to the last good digest");
        }

        if (snapshot.DiskLow)
        {
            var free = snapshot.DiskFreeBytes is { } bytes ? (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + " MiB" : "too little space";
            yield return new("low-disk", $"Docker's data root has {free} free, below Deployer:Disk:MinFreeMiB; the next pull prunes first and refuses if that is not enough");
        }

        if (slots.Edge is { Reachable: false })
        {
            yield return new("edge-unreachable", "the edge's runtime API does not answer; no switch can happen until reconciliation brings it back");
        }

        if (slots.Edge?.TlsProblem is { } tls)
        {
            yield return new("edge-tls", tls);
        }

        foreach (var entry in persisted.Quarantined)
        {
            yield return new("quarantined", $"{entry.Digest} is quarantined since {entry.Since:u}: {entry.Reason}");
        }

        if (registryFailuresInARow >= RegistryFailuresWarning)
        {
            yield return new("registry", $"the last {registryFailuresInARow.ToString(CultureInfo.InvariantCulture)} registry checks failed: {snapshot.LastError}");
        }

        if (snapshot.Paused)
        {
            yield return new("paused", "rollouts are paused (POST /resume)");
        }

        if (snapshot.LiveHardened is false)
        {
            yield return new("hardening", $"the live container lacks {string.Join(", ", snapshot.LiveHardeningDifferences)} until the next rollout");
        }

        if (historyWriteError is not null)
        {
            yield return new("history", $"the rollout history could not be written: {historyWriteError}");
        }
    }

    /// <summary>
    /// The live model: its version comes from the quality gate that admitted it (the report of the rollout that put the
    /// running digest in place, finished or still baking), else from the last report's live side; "since" is the end of
    /// that rollout, else the container's start.
    /// </summary>
    public static LiveStatus Live(StrategyStatus slots, ContainerInfo? container, StatusSnapshot snapshot, IReadOnlyList<RolloutHistoryEntry> history, QualityGateReport? gate)
    {
        ArgumentNullException.ThrowIfNull(slots);
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(history);
        var digest = container?.DeployedDigest ?? snapshot.RunningDigest;
        // The rollout that put this digest in place: finished, or still baking with the edge already on it.
        var placedBy = history.FirstOrDefault(e => e.Digest == digest && (e.Outcome == RolloutOutcome.Succeeded || (e.Outcome is null && !e.Interrupted)));
        var version = gate switch
        {
            { Candidate: { } candidate } when placedBy is not null && gate.RolloutId == placedBy.Id => candidate.ModelVersion,
            { Live: { } live } => live.ModelVersion,
            _ => null,
        };
        var imageVersion = container?.Labels.TryGetValue("org.opencontainers.image.version", out var label) == true ? label : null;
        return new LiveStatus(slots.LiveSlot, container?.Name ?? snapshot.RunningContainer, digest, version, imageVersion, placedBy?.FinishedAt ?? container?.State.StartedAt);
    }

    private static async Task<T?> ReadAsync<T>(Func<Task<T?>> read, string what, List<StatusWarning> warnings, CancellationToken requestAborted)
        where T : class
    {
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!requestAborted.IsCancellationRequested)
        {
            warnings.Add(new(what, $"{what} did not answer within {LiveReadTimeout.TotalSeconds:0} s; this page shows the last tick's figures"));
            return null;
        }
        catch (Exception ex) when (ex is ContainerRuntimeException or Edge.EdgeRuntimeApiException or Polly.Timeout.TimeoutRejectedException)
        {
            warnings.Add(new(what, $"{what} did not answer: {ex.Message}"));
            return null;
        }
    }
}
