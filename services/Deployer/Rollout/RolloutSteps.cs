using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.Deployer.Registry;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// The steps every rollout strategy shares: disk guard, pull, the candidate's checks (SERVING, golden Predict,
/// quality gate), the watch of a new container, commit, quarantine and the record at the end. A strategy
/// (<see cref="RolloutPlan"/>, <see cref="BlueGreenPlan"/>) only says where the candidate runs and how traffic moves.
/// </summary>
internal sealed class RolloutSteps(
    IContainerRuntime docker,
    IImageRegistry registry,
    IImageSignatureVerifier signatures,
    IPredictorProbe probe,
    IOptions<PreflightOptions> preflight,
    IOptions<HealthGateOptions> healthGate,
    IOptions<DiskGuardOptions> disk,
    IOptions<DockerOptions> dockerOptions,
    StateStore state,
    RolloutNotifier notifier,
    QualityGateStep quality,
    ShadowGateStep shadow,
    DeployerMetrics metrics,
    TimeProvider time,
    ILogger<RolloutSteps> logger)
{
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PreflightProbeInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan GoldenTimeout = TimeSpan.FromSeconds(10);
    private readonly PreflightOptions _preflight = preflight.Value;
    private readonly HealthGateOptions _gate = healthGate.Value;
    private readonly DiskGuardOptions _disk = disk.Value;
    private readonly DockerOptions _docker = dockerOptions.Value;

    public string ImageName => registry.ImageName;

    public RolloutRun Start(string digest, string kind)
    {
        var run = new RolloutRun(NewRolloutId(), digest, kind, time);
        Log.RolloutStarted(logger, run.Id, kind, registry.ImageName, digest);
        state.History.Begin(run.Id, run.Digest, run.Kind, run.StartedAt);
        return run;
    }

    public RolloutRun Resume(string digest)
    {
        var run = new RolloutRun(NewRolloutId(), digest, RolloutKinds.Resume, time);
        state.History.Begin(run.Id, run.Digest, run.Kind, run.StartedAt);
        return run;
    }

    /// <summary>Runs one named step, logging its start, its end and its duration.</summary>
    public async Task StepAsync(RolloutRun run, string step, Func<RolloutRun, CancellationToken, Task> action, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        Log.StepStarted(logger, run.Id, step);
        state.History.StepStarted(run.Id, step, time.GetUtcNow());
        try
        {
            await action(run, ct).ConfigureAwait(false);
            Log.StepFinished(logger, run.Id, step, time.GetElapsedTime(started).TotalMilliseconds);
            state.History.StepEnded(run.Id, step, time.GetElapsedTime(started), error: null);
        }
        catch (Exception ex)
        {
            if (ex is not OperationCanceledException)
            {
                Log.StepFailed(logger, run.Id, step, time.GetElapsedTime(started).TotalMilliseconds, ex.Message);
            }

            state.History.StepEnded(run.Id, step, time.GetElapsedTime(started), ex is OperationCanceledException ? "cancelled" : ex.Message);
            throw;
        }
    }

    /// <summary>A failure the plan answers with a refusal or a rollback; anything else is a bug for the loop to log.</summary>
    public static bool IsStepFailure(Exception ex) => ex is RolloutStepException or ContainerRuntimeException or RegistryException;

    public async Task EnsureDiskSpaceAsync(RolloutRun run, IReadOnlyList<string> containersInUse, CancellationToken ct)
    {
        var free = await docker.GetFreeSpaceAsync(ct).ConfigureAwait(false);
        if (free is null)
        {
            // In a container without the data root mounted there is nothing to measure; pruning still bounds the disk.
            Log.DiskUnmeasurable(logger, run.Id);
            return;
        }

        if (DiskRule.HasRoom(free.Value, _disk.MinFreeMiB))
        {
            return;
        }

        Log.DiskLow(logger, run.Id, free.Value / (1024 * 1024), _disk.MinFreeMiB);
        await PruneAsync(run, containersInUse, ct).ConfigureAwait(false);
        await docker.PruneDanglingImagesAsync(ct).ConfigureAwait(false);
        free = await docker.GetFreeSpaceAsync(ct).ConfigureAwait(false) ?? 0;
        if (!DiskRule.HasRoom(free.Value, _disk.MinFreeMiB))
        {
            throw new RolloutStepException(
                $"not enough disk space for a pull: {free / (1024 * 1024)} MiB free on Docker's data root after pruning, Deployer:Disk:MinFreeMiB is {_disk.MinFreeMiB}",
                imageAtFault: false);
        }
    }

    /// <summary>
    /// Before any pull: the digest must carry a valid signature by <c>Deployer:Signature:PublicKeyPath</c>. A refusal
    /// is the image's fault (quarantined, naming why); a registry that cannot answer is not.
    /// </summary>
    public async Task VerifySignatureAsync(RolloutRun run, CancellationToken ct)
    {
        var verdict = await signatures.VerifyAsync(run.Digest, ct).ConfigureAwait(false);
        if (!verdict.Trusted)
        {
            throw new RolloutStepException($"signature check refused the image: {verdict.Detail}", imageAtFault: true);
        }
    }

    public async Task PullAsync(RolloutRun run, CancellationToken ct)
    {
        var reference = $"{registry.ImageName}@{run.Digest}";
        var credentials = await registry.GetPullCredentialsAsync(ct).ConfigureAwait(false);
        try
        {
            await docker.PullAsync(reference, credentials, ct).ConfigureAwait(false);
        }
        catch (ContainerRuntimeException ex) when (ex.IsUnauthorized)
        {
            // Cached registry credentials expire (ECR tokens live 12 h); fetch fresh ones once.
            Log.PullUnauthorized(logger, run.Id);
            registry.InvalidateCredentials();
            credentials = await registry.GetPullCredentialsAsync(ct).ConfigureAwait(false);
            await docker.PullAsync(reference, credentials, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Creates (and maybe starts) a container of the run's image. An image pulled by digest has no tag, so a prune by
    /// someone else between the pull and this call can remove it: the engine's 404 then says nothing about the image,
    /// so it is pulled again once and the call repeated.
    /// </summary>
    public async Task<T> WithImageAsync<T>(RolloutRun run, Func<Task<T>> create, CancellationToken ct)
    {
        try
        {
            return await create().ConfigureAwait(false);
        }
        catch (ContainerRuntimeException ex) when (ex.IsMissingImage)
        {
            Log.ImageVanished(logger, run.Id, run.Digest);
            await PullAsync(run, ct).ConfigureAwait(false);
            try
            {
                return await create().ConfigureAwait(false);
            }
            catch (ContainerRuntimeException again) when (again.IsMissingImage)
            {
                throw new RolloutStepException($"the engine lost the image again right after a pull: {again.Message}", imageAtFault: false);
            }
        }
    }

    /// <summary>
    /// What preflight checks of a candidate that no client reaches yet: SERVING within <c>Deployer:Preflight:Timeout</c>
    /// without exiting or restarting, the golden Predict, and the model-quality gate against the live model. Throws a
    /// <see cref="RolloutStepException"/> with the image at fault when any of them fails.
    /// </summary>
    public async Task VerifyCandidateAsync(RolloutRun run, string name, Uri address, string liveContainer, CancellationToken ct)
    {
        string? exited = null;
        var serving = await Wait.UntilAsync(
            async c =>
            {
                if (await probe.IsServingAsync(address, ProbeTimeout, c).ConfigureAwait(false))
                {
                    return true;
                }

                var now = await docker.InspectAsync(name, c).ConfigureAwait(false);
                if (now is null || now.State.IsDown || now.State.RestartCount > 0)
                {
                    exited = now is null ? "vanished" : now.State.IsDown ? $"exited with code {now.State.ExitCode}" : "restarted";
                    return true;
                }

                return false;
            },
            PreflightProbeInterval,
            _preflight.Timeout,
            time,
            ct).ConfigureAwait(false);

        if (exited is not null)
        {
            throw new RolloutStepException($"preflight refused the image: the candidate {exited} before SERVING", imageAtFault: true);
        }

        if (!serving)
        {
            throw new RolloutStepException($"preflight refused the image: not SERVING within Deployer:Preflight:Timeout ({_preflight.Timeout})", imageAtFault: true);
        }

        var golden = await probe.CheckGoldenAsync(address, GoldenTimeout, ct).ConfigureAwait(false);
        if (!golden.Passed)
        {
            throw new RolloutStepException($"preflight refused the image: {golden.Detail}", imageAtFault: true);
        }

        // Deployer:QualityGate — the candidate against the live model on the golden set, before any client sees it.
        await quality.RunAsync(run.Id, run.Kind, address, liveContainer, ct).ConfigureAwait(false);

        // Deployer:ShadowGate — recent real inputs from the live model's sample, replayed through both.
        await shadow.RunAsync(run.Id, run.Kind, address, liveContainer, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Probes <paramref name="address"/> and inspects container <paramref name="name"/> every
    /// <c>Deployer:HealthGate:ProbeInterval</c> until <paramref name="judge"/> passes or fails.
    /// </summary>
    public async Task<GateVerdict> WatchAsync(string name, Uri address, Func<bool, ContainerState, GateVerdict> judge, Action<bool>? onProbe, CancellationToken ct)
    {
        while (true)
        {
            var serving = await probe.IsServingAsync(address, ProbeTimeout, ct).ConfigureAwait(false);
            var now = await docker.InspectAsync(name, ct).ConfigureAwait(false);
            if (now is null)
            {
                return GateVerdict.Fail($"'{name}' disappeared");
            }

            onProbe?.Invoke(serving);
            var verdict = judge(serving, now.State);
            if (verdict.Status != GateStatus.Pending)
            {
                return verdict;
            }

            await Task.Delay(_gate.ProbeInterval, time, ct).ConfigureAwait(false);
        }
    }

    /// <summary>The health gate: SERVING for <c>StableFor</c>, no restart, before <c>Deadline</c>.</summary>
    public HealthGate NewGate(int initialRestarts) => new(_gate.StableFor, _gate.Deadline, initialRestarts, time);

    /// <summary>
    /// The bake: container <paramref name="name"/> must go <c>Deployer:HealthGate:BakeTime</c> without a restart, an
    /// exit or failed health checks at <paramref name="address"/>. Throws with the image at fault when it does not.
    /// </summary>
    public async Task BakeAsync(string name, Uri address, int initialRestarts, CancellationToken ct)
    {
        var bake = new BakeWatch(_gate.BakeTime, initialRestarts, time);
        var verdict = await WatchAsync(name, address, bake.Observe, null, ct).ConfigureAwait(false);
        metrics.Bakes.WithLabels(verdict.Status == GateStatus.Passed ? "passed" : "failed").Inc();
        if (verdict.Status != GateStatus.Passed)
        {
            throw new RolloutStepException($"bake failed: {verdict.Reason}", imageAtFault: true);
        }
    }

    public bool Bakes => _gate.BakeTime > TimeSpan.Zero;

    /// <summary>
    /// Records the digest as good (for POST /rollback), lifts its quarantine and ends the rollout, in one write; then
    /// prunes old images. A prune that fails is logged: the rollout is committed all the same.
    /// </summary>
    public async Task CommitAsync(RolloutRun run, IReadOnlyList<string> containersInUse, CancellationToken ct)
    {
        state.Commit(run.Digest);
        try
        {
            await PruneAsync(run, containersInUse, ct).ConfigureAwait(false);
        }
        catch (ContainerRuntimeException ex)
        {
            Log.CleanupFailed(logger, "old images", ex.Message);
        }
    }

    public async Task PruneAsync(RolloutRun run, IReadOnlyList<string> containersInUse, CancellationToken ct)
    {
        var images = await docker.ListImagesAsync(registry.ImageName, ct).ConfigureAwait(false);
        var inUse = new List<string>();
        foreach (var name in containersInUse)
        {
            if (await docker.InspectAsync(name, ct).ConfigureAwait(false) is { } container)
            {
                inUse.Add(container.ImageId);
            }
        }

        foreach (var reference in Decisions.ImagesToPrune(images, _disk.KeepImages, inUse, state.Current.GoodDigests))
        {
            var removed = await docker.RemoveImageAsync(reference, ct).ConfigureAwait(false);
            Log.ImagePruned(logger, run.Id, reference, removed);
        }
    }

    public void Quarantine(RolloutRun run, string reason)
    {
        Log.Quarantined(logger, run.Id, run.Digest, reason);
        state.Quarantine(new QuarantineEntry(run.Digest, reason, time.GetUtcNow(), run.Id));
    }

    /// <summary>
    /// For POST /rollback: quarantines the running digest as the operator's choice and returns the last good digest
    /// before it, or null when none is known.
    /// </summary>
    public string? OperatorRollbackTarget(string? runningDigest)
    {
        var target = state.Current.GoodDigests.FirstOrDefault(d => d != runningDigest);
        if (target is null)
        {
            Log.NothingToRollBackTo(logger, runningDigest ?? "none");
            return null;
        }

        if (runningDigest is not null)
        {
            state.Quarantine(new QuarantineEntry(runningDigest, "rolled back by the operator", time.GetUtcNow(), "operator"));
        }

        return target;
    }

    public async Task<RolloutRecord> FinishAsync(RolloutRun run, RolloutOutcome outcome, string detail, CancellationToken ct)
    {
        var record = new RolloutRecord(run.Id, run.Digest, run.Kind, outcome, detail, run.StartedAt, time.GetElapsedTime(run.Started), run.Downtime);
        try
        {
            state.Finish(record);
        }
        catch (RolloutStepException ex)
        {
            // The record is still logged and sent; /status shows the previous one until the disk takes writes again.
            Log.StateNotWritten(logger, run.Id, ex.Message);
        }
        state.History.Finished(record);
        Log.RolloutFinished(logger, run.Id, outcome, record.Duration.TotalMilliseconds, record.Downtime?.TotalMilliseconds, detail);
        await notifier.PublishAsync(record, registry.ImageName, ct).ConfigureAwait(false);
        return record;
    }

    /// <summary>Removes a container, bounded by <c>Deployer:Docker:CallTimeout</c>, even when the rollout was cancelled.</summary>
    public async Task RemoveQuietlyAsync(string name)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_docker.CallTimeout);
            await docker.RemoveAsync(name, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ContainerRuntimeException or OperationCanceledException)
        {
            // Reconciliation removes it on the next tick.
            Log.CleanupFailed(logger, name, ex.Message);
        }
    }

    /// <summary>The address a published port is reached at from this host.</summary>
    public static Uri? Address(PortBinding? binding) => binding is null
        ? null
        : new Uri(binding.HostIp switch
        {
            "0.0.0.0" or "" => $"http://127.0.0.1:{binding.HostPort}",
            "::" => $"http://[::1]:{binding.HostPort}",
            var ip when ip.Contains(':', StringComparison.Ordinal) => $"http://[{ip}]:{binding.HostPort}",
            var ip => $"http://{ip}:{binding.HostPort}",
        });

    private string NewRolloutId() => $"{time.GetUtcNow():yyyyMMddHHmmss}-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 3)}";
}
