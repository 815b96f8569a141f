using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.Deployer.Registry;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// One rollout of one digest, as the plan reads: disk guard, pull, preflight, swap, health gate, then commit or
/// roll back. Every step is logged with the rollout id and its duration. Decisions live in <see cref="Decisions"/>
/// and <see cref="HealthGate"/>; this class only carries them out.
/// </summary>
internal sealed class RolloutPlan(
    IContainerRuntime docker,
    IImageRegistry registry,
    IPredictorProbe probe,
    IOptions<ContainerSpecOptions> container,
    IOptions<PreflightOptions> preflight,
    IOptions<HealthGateOptions> healthGate,
    IOptions<DiskGuardOptions> disk,
    IOptions<DockerOptions> dockerOptions,
    StateStore state,
    RolloutNotifier notifier,
    QualityGateStep quality,
    TimeProvider time,
    ILogger<RolloutPlan> logger)
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PreflightProbeInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan GoldenTimeout = TimeSpan.FromSeconds(10);
    private readonly ContainerSpecOptions _container = container.Value;
    private readonly PreflightOptions _preflight = preflight.Value;
    private readonly HealthGateOptions _gate = healthGate.Value;
    private readonly DiskGuardOptions _disk = disk.Value;
    private readonly DockerOptions _docker = dockerOptions.Value;

    private string Name => _container.Name;

    private string PreviousName => ContainerSpecFactory.PreviousName(Name);

    /// <summary>Rolls out <paramref name="digest"/>. Never throws for a failed rollout; returns its record.</summary>
    public async Task<RolloutRecord> DeployAsync(string digest, string kind, CancellationToken cancellationToken)
    {
        var run = new Run(NewRolloutId(), digest, kind, time);
        Log.RolloutStarted(logger, run.Id, kind, registry.ImageName, digest);
        try
        {
            await StepAsync(run, "disk guard", EnsureDiskSpaceAsync, cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "pull", PullAsync, cancellationToken).ConfigureAwait(false);
            if (_preflight.Enabled)
            {
                await StepAsync(run, "preflight", PreflightAsync, cancellationToken).ConfigureAwait(false);
            }

            await StepAsync(run, "swap", SwapAsync, cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "health gate", GateAsync, cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "commit", CommitAsync, cancellationToken).ConfigureAwait(false);
            return await FinishAsync(run, RolloutOutcome.Succeeded, "the new container is SERVING", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStepFailure(ex))
        {
            return await FailAsync(run, ex, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reconciliation: repairs what a crash, a kill or a failed rollback left behind, so that the managed
    /// container serves. Runs on start and on every tick.
    /// </summary>
    public async Task RepairAsync(CancellationToken cancellationToken)
    {
        // A preflight candidate never outlives its rollout; one that exists was left by a kill.
        var preflightName = ContainerSpecFactory.PreflightName(Name);
        if (await docker.RemoveAsync(preflightName, cancellationToken).ConfigureAwait(false))
        {
            Log.RepairRemovedPreflight(logger, preflightName);
        }

        var current = await docker.InspectAsync(Name, cancellationToken).ConfigureAwait(false);
        var previous = await docker.InspectAsync(PreviousName, cancellationToken).ConfigureAwait(false);
        switch (Decisions.Repair(current, previous))
        {
            case RepairAction.StartCurrent:
                Log.RepairStartingCurrent(logger, Name, current!.State.Status);
                await docker.StartAsync(Name, cancellationToken).ConfigureAwait(false);
                break;

            case RepairAction.RestorePrevious:
                var broken = current?.DeployedDigest;
                var run = new Run(NewRolloutId(), broken ?? previous!.DeployedDigest ?? "unknown", RolloutKinds.Resume, time) { Swapped = true, HadPrevious = true };
                Log.RepairRestoringPrevious(logger, Name, current?.State.Status ?? "missing", PreviousName, run.Id);
                // Created but never started means the deployer was killed mid-swap, not that the image is bad.
                if (broken is not null && broken != previous!.DeployedDigest && current!.State.Status != "created")
                {
                    Quarantine(run, $"'{Name}' was found {current!.State.Status} after an interrupted rollout");
                }

                await RollBackAndFinishAsync(run, "restored the previous container after an interrupted rollout", cancellationToken).ConfigureAwait(false);
                break;

            case RepairAction.FinishInterruptedRollout:
                await FinishInterruptedAsync(current!, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>Goes back to the last good digest other than the running one, and quarantines the running one.</summary>
    public async Task<RolloutRecord?> RollbackToPreviousAsync(string? runningDigest, CancellationToken cancellationToken)
    {
        var target = state.Current.GoodDigests.FirstOrDefault(d => d != runningDigest);
        if (target is null)
        {
            Log.NothingToRollBackTo(logger, runningDigest ?? "none");
            return null;
        }

        if (runningDigest is not null)
        {
            state.Update(s => s with
            {
                Quarantined = [.. s.Quarantined.Where(q => q.Digest != runningDigest), new QuarantineEntry(runningDigest, "rolled back by the operator", time.GetUtcNow(), "operator")],
            });
        }

        return await DeployAsync(target, RolloutKinds.Rollback, cancellationToken).ConfigureAwait(false);
    }

    private async Task EnsureDiskSpaceAsync(Run run, CancellationToken ct)
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
        await PruneAsync(run, ct).ConfigureAwait(false);
        await docker.PruneDanglingImagesAsync(ct).ConfigureAwait(false);
        free = await docker.GetFreeSpaceAsync(ct).ConfigureAwait(false) ?? 0;
        if (!DiskRule.HasRoom(free.Value, _disk.MinFreeMiB))
        {
            throw new RolloutStepException(
                $"not enough disk space for a pull: {free / (1024 * 1024)} MiB free on Docker's data root after pruning, Deployer:Disk:MinFreeMiB is {_disk.MinFreeMiB}",
                imageAtFault: false);
        }
    }

    private async Task PullAsync(Run run, CancellationToken ct)
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

    private async Task PreflightAsync(Run run, CancellationToken ct)
    {
        var spec = ContainerSpecFactory.Preflight(_container, registry.ImageName, run.Digest, run.Id);
        await docker.RemoveAsync(spec.Name, ct).ConfigureAwait(false);
        try
        {
            var candidate = await docker.RunAsync(spec, ct).ConfigureAwait(false);
            // A candidate that crashed at once has no published port either; that is the image's fault.
            var address = Address(candidate.PublishedPort(_container.GrpcPort))
                ?? throw (candidate.State.IsDown
                    ? new RolloutStepException($"preflight refused the image: the candidate exited with code {candidate.State.ExitCode} before SERVING", imageAtFault: true)
                    : new RolloutStepException("the preflight container has no published gRPC port", imageAtFault: false));
            string? exited = null;
            var serving = await Wait.UntilAsync(
                async c =>
                {
                    if (await probe.IsServingAsync(address, ProbeTimeout, c).ConfigureAwait(false))
                    {
                        return true;
                    }

                    var now = await docker.InspectAsync(spec.Name, c).ConfigureAwait(false);
                    if (now is null || now.State.IsDown)
                    {
                        exited = now is null ? "vanished" : $"exited with code {now.State.ExitCode}";
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

            // Deployer:QualityGate — the candidate against the live model on the golden set, before any swap.
            await quality.RunAsync(run.Id, run.Kind, address, ct).ConfigureAwait(false);
        }
        finally
        {
            await RemoveQuietlyAsync(spec.Name).ConfigureAwait(false);
        }
    }

    private async Task SwapAsync(Run run, CancellationToken ct)
    {
        var current = await docker.InspectAsync(Name, ct).ConfigureAwait(false);
        var previous = await docker.InspectAsync(PreviousName, ct).ConfigureAwait(false);
        if (previous is not null)
        {
            if (current is null || current.State.IsDown)
            {
                throw new RolloutStepException($"'{PreviousName}' exists while '{Name}' does not run; reconciliation restores it first", imageAtFault: false);
            }

            // A stale -previous (its rollout was committed but not cleaned up) must not block the rename.
            await docker.RemoveAsync(PreviousName, ct).ConfigureAwait(false);
        }

        run.Swapped = true;
        if (current is not null)
        {
            // Whatever holds the name (ours, or a hand-run leftover) steps aside instead of failing the rollout.
            // A running container can be renamed, so it keeps serving while the new one is created.
            run.HadPrevious = true;
            await docker.RenameAsync(Name, PreviousName, ct).ConfigureAwait(false);
        }

        var spec = ContainerSpecFactory.Managed(_container, registry.ImageName, run.Digest, run.Id);
        await CreateOrRefuseAsync(() => docker.CreateAsync(spec, ct)).ConfigureAwait(false);

        // Downtime starts here: the host port can only be bound by one of the two.
        run.DowntimeStart = time.GetTimestamp();
        if (current is { State.IsDown: false })
        {
            await docker.StopAsync(PreviousName, _container.StopTimeout, ct).ConfigureAwait(false);
        }

        await CreateOrRefuseAsync(() => docker.StartAsync(Name, ct)).ConfigureAwait(false);
        run.Container = await docker.InspectAsync(Name, ct).ConfigureAwait(false)
            ?? throw new RolloutStepException($"'{Name}' disappeared right after it started", imageAtFault: false);
    }

    private static async Task CreateOrRefuseAsync(Func<Task> engineCall)
    {
        try
        {
            await engineCall().ConfigureAwait(false);
        }
        catch (ContainerRuntimeException ex) when (!ex.IsTransient)
        {
            // The engine refused to create or start it (a bad entrypoint, a port taken): retrying would only repeat the outage.
            throw new RolloutStepException($"the new container did not start: {ex.Message}", imageAtFault: true);
        }
    }

    private async Task GateAsync(Run run, CancellationToken ct)
    {
        var verdict = await GateVerdictAsync(run, run.Container!, ct).ConfigureAwait(false);
        if (verdict.Status != GateStatus.Passed)
        {
            throw new RolloutStepException($"health gate failed: {verdict.Reason}", imageAtFault: true);
        }
    }

    private async Task<GateVerdict> GateVerdictAsync(Run run, ContainerInfo container, CancellationToken ct)
    {
        var address = Address(container.PublishedPort(_container.GrpcPort));
        if (address is null)
        {
            return GateVerdict.Fail($"container port {_container.GrpcPort} is not published");
        }

        var gate = new HealthGate(_gate.StableFor, _gate.Deadline, container.State.RestartCount, time);
        while (true)
        {
            var serving = await probe.IsServingAsync(address, ProbeTimeout, ct).ConfigureAwait(false);
            var now = await docker.InspectAsync(Name, ct).ConfigureAwait(false);
            if (now is null)
            {
                return GateVerdict.Fail($"'{Name}' disappeared");
            }

            var verdict = gate.Observe(serving, now.State);
            if (serving && run.Downtime is null && run.DowntimeStart is { } start)
            {
                run.Downtime = time.GetElapsedTime(start);
            }

            if (verdict.Status != GateStatus.Pending)
            {
                return verdict;
            }

            await Task.Delay(_gate.ProbeInterval, time, ct).ConfigureAwait(false);
        }
    }

    private async Task CommitAsync(Run run, CancellationToken ct)
    {
        await docker.RemoveAsync(PreviousName, ct).ConfigureAwait(false);
        state.Update(s => s with
        {
            GoodDigests = [run.Digest, .. s.GoodDigests.Where(d => d != run.Digest).Take(9)],
            Quarantined = [.. s.Quarantined.Where(q => q.Digest != run.Digest)],
        });
        await PruneAsync(run, ct).ConfigureAwait(false);
    }

    private async Task<bool> RollBackAsync(Run run, CancellationToken ct)
    {
        await docker.RemoveAsync(Name, ct).ConfigureAwait(false);
        if (!run.HadPrevious || !await docker.RenameAsync(PreviousName, Name, ct).ConfigureAwait(false))
        {
            Log.NothingToRestore(logger, run.Id, PreviousName);
            return false;
        }

        run.DowntimeStart ??= time.GetTimestamp();
        await docker.StartAsync(Name, ct).ConfigureAwait(false);
        var restored = await docker.InspectAsync(Name, ct).ConfigureAwait(false);
        var address = Address(restored?.PublishedPort(_container.GrpcPort));
        if (address is null)
        {
            // An adopted container may publish other ports; running is all that can be checked.
            return restored is { State.Running: true };
        }

        var serving = await Wait.UntilAsync(c => probe.IsServingAsync(address, ProbeTimeout, c), _gate.ProbeInterval, _gate.RestoreTimeout, time, ct).ConfigureAwait(false);
        if (serving)
        {
            run.Downtime = time.GetElapsedTime(run.DowntimeStart.Value);
        }

        return serving;
    }

    private async Task FinishInterruptedAsync(ContainerInfo current, CancellationToken ct)
    {
        var run = new Run(NewRolloutId(), current.DeployedDigest ?? "unknown", RolloutKinds.Resume, time) { Swapped = true, HadPrevious = true, Container = current };
        Log.RepairGatingAgain(logger, Name, PreviousName, run.Id);
        try
        {
            await StepAsync(run, "health gate", GateAsync, ct).ConfigureAwait(false);
            await StepAsync(run, "commit", CommitAsync, ct).ConfigureAwait(false);
            await FinishAsync(run, RolloutOutcome.Succeeded, "finished an interrupted rollout", ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsStepFailure(ex))
        {
            await FailAsync(run, ex, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The one failure path: quarantine the digest when the image is at fault, then refuse (the live container
    /// was not touched) or roll back (it was).
    /// </summary>
    private async Task<RolloutRecord> FailAsync(Run run, Exception failure, CancellationToken ct)
    {
        if (failure is RolloutStepException { ImageAtFault: true })
        {
            Quarantine(run, failure.Message);
        }

        return run.Swapped
            ? await RollBackAndFinishAsync(run, failure.Message, ct).ConfigureAwait(false)
            : await FinishAsync(run, RolloutOutcome.Refused, failure.Message, ct).ConfigureAwait(false);
    }

    private async Task<RolloutRecord> RollBackAndFinishAsync(Run run, string detail, CancellationToken ct)
    {
        var restored = false;
        try
        {
            await StepAsync(run, "rollback", async (r, c) => restored = await RollBackAsync(r, c).ConfigureAwait(false), ct).ConfigureAwait(false);
        }
        catch (ContainerRuntimeException ex)
        {
            // Reconciliation on the next tick restores -previous once the engine answers again.
            Log.RollbackIncomplete(logger, run.Id, ex.Message);
        }

        return await FinishAsync(run, restored ? RolloutOutcome.RolledBack : RolloutOutcome.Failed, detail, ct).ConfigureAwait(false);
    }

    /// <summary>A failure the plan answers with a refusal or a rollback; anything else is a bug for the loop to log.</summary>
    private static bool IsStepFailure(Exception ex) => ex is RolloutStepException or ContainerRuntimeException or RegistryException;

    private async Task PruneAsync(Run run, CancellationToken ct)
    {
        var images = await docker.ListImagesAsync(registry.ImageName, ct).ConfigureAwait(false);
        var inUse = new List<string>();
        foreach (var name in new[] { Name, PreviousName })
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

    private async Task StepAsync(Run run, string step, Func<Run, CancellationToken, Task> action, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        Log.StepStarted(logger, run.Id, step);
        try
        {
            await action(run, ct).ConfigureAwait(false);
            Log.StepFinished(logger, run.Id, step, time.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.StepFailed(logger, run.Id, step, time.GetElapsedTime(started).TotalMilliseconds, ex.Message);
            throw;
        }
    }

    private async Task<RolloutRecord> FinishAsync(Run run, RolloutOutcome outcome, string detail, CancellationToken ct)
    {
        var record = new RolloutRecord(run.Id, run.Digest, run.Kind, outcome, detail, run.StartedAt, time.GetElapsedTime(run.Started), run.Downtime);
        state.Update(s => s with { LastRollout = record });
        Log.RolloutFinished(logger, run.Id, outcome, record.Duration.TotalMilliseconds, record.Downtime?.TotalMilliseconds, detail);
        await notifier.PublishAsync(record, registry.ImageName, ct).ConfigureAwait(false);
        return record;
    }

    private void Quarantine(Run run, string reason)
    {
        Log.Quarantined(logger, run.Id, run.Digest, reason);
        state.Update(s => s with
        {
            Quarantined = [.. s.Quarantined.Where(q => q.Digest != run.Digest), new QuarantineEntry(run.Digest, reason, time.GetUtcNow(), run.Id)],
        });
    }

    private async Task RemoveQuietlyAsync(string name)
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

    private static Uri? Address(PortBinding? binding) => binding is null
        ? null
        : new Uri(binding.HostIp switch
        {
            "0.0.0.0" or "" => $"http://127.0.0.1:{binding.HostPort}",
            "::" => $"http://[::1]:{binding.HostPort}",
            var ip when ip.Contains(':', StringComparison.Ordinal) => $"http://[{ip}]:{binding.HostPort}",
            var ip => $"http://{ip}:{binding.HostPort}",
        });

    private string NewRolloutId() => $"{time.GetUtcNow():yyyyMMddHHmmss}-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 3)}";

    /// <summary>The mutable facts of one rollout in progress.</summary>
    private sealed class Run(string id, string digest, string kind, TimeProvider time)
    {
        public string Id { get; } = id;

        public string Digest { get; } = digest;

        public string Kind { get; } = kind;

        public long Started { get; } = time.GetTimestamp();

        public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

        /// <summary>True once the live container may have been touched; failures from here on roll back.</summary>
        public bool Swapped { get; set; }

        /// <summary>A container held the name before the swap and now waits as -previous.</summary>
        public bool HadPrevious { get; set; }

        public ContainerInfo? Container { get; set; }

        public long? DowntimeStart { get; set; }

        public TimeSpan? Downtime { get; set; }
    }
}

/// <summary>A rollout step failed. <see cref="ImageAtFault"/> says whether the digest should be quarantined.</summary>
public sealed class RolloutStepException : Exception
{
    public RolloutStepException(string message, bool imageAtFault)
        : base(message) => ImageAtFault = imageAtFault;

    public RolloutStepException() : this("rollout step failed", imageAtFault: false) { }

    public RolloutStepException(string message) : this(message, imageAtFault: false) { }

    public RolloutStepException(string message, Exception inner) : base(message, inner) { }

    public bool ImageAtFault { get; }
}
