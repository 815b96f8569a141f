using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// The <c>Recreate</c> strategy: one rollout of one digest, as the plan reads: disk guard, pull, preflight, swap,
/// health gate, bake, then commit or roll back. The old container is renamed and stopped, the new one takes its
/// name and ports (a short outage). Every step is logged with the rollout id and its duration. Decisions live in
/// <see cref="Decisions"/>, <see cref="HealthGate"/> and <see cref="BakeWatch"/>; this class only carries them out.
/// </summary>
internal sealed class RolloutPlan(
    IContainerRuntime docker,
    IPredictorProbe probe,
    IOptions<ContainerSpecOptions> container,
    IOptions<PreflightOptions> preflight,
    IOptions<HealthGateOptions> healthGate,
    RolloutSteps steps,
    TimeProvider time,
    ILogger<RolloutPlan> logger) : IRolloutStrategy
{
    private readonly ContainerSpecOptions _container = container.Value;
    private readonly PreflightOptions _preflight = preflight.Value;
    private readonly HealthGateOptions _gate = healthGate.Value;
    private volatile string? _phase;

    private string Name => _container.Name;

    private string PreviousName => ContainerSpecFactory.PreviousName(Name);

    /// <summary>Rolls out <paramref name="digest"/>. Never throws for a failed rollout; returns its record.</summary>
    public async Task<RolloutRecord> DeployAsync(string digest, string kind, CancellationToken cancellationToken)
    {
        var run = steps.Start(digest, kind);
        try
        {
            await StepAsync(run, "disk guard", (r, c) => steps.EnsureDiskSpaceAsync(r, [Name, PreviousName], c), cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "signature", steps.VerifySignatureAsync, cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "pull", steps.PullAsync, cancellationToken).ConfigureAwait(false);
            if (_preflight.Enabled)
            {
                await StepAsync(run, "preflight", PreflightAsync, cancellationToken).ConfigureAwait(false);
            }

            await StepAsync(run, "swap", SwapAsync, cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "health gate", GateAsync, cancellationToken).ConfigureAwait(false);
            if (steps.Bakes)
            {
                await StepAsync(run, "bake", BakeAsync, cancellationToken).ConfigureAwait(false);
            }

            await StepAsync(run, "commit", CommitAsync, cancellationToken).ConfigureAwait(false);
            return await FinishAsync(run, RolloutOutcome.Succeeded, "the new container is SERVING", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RolloutSteps.IsStepFailure(ex))
        {
            return await FailAsync(run, ex, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<ContainerInfo?> LiveAsync(CancellationToken cancellationToken) => docker.InspectAsync(Name, cancellationToken);

    public Task<StrategyStatus> DescribeAsync(CancellationToken cancellationToken) => Task.FromResult(StrategyStatus.Recreate(_phase));

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
                var run = steps.Resume(broken ?? previous!.DeployedDigest ?? "unknown");
                run.Swapped = true;
                run.HadPrevious = true;
                Log.RepairRestoringPrevious(logger, Name, current?.State.Status ?? "missing", PreviousName, run.Id);
                // Created but never started means the deployer was killed mid-swap, not that the image is bad.
                if (broken is not null && broken != previous!.DeployedDigest && current!.State.Status != "created")
                {
                    steps.Quarantine(run, $"'{Name}' was found {current!.State.Status} after an interrupted rollout");
                }

                await RollBackAndFinishAsync(run, "restored the previous container after an interrupted rollout", cancellationToken).ConfigureAwait(false);
                break;

            case RepairAction.FinishInterruptedRollout:
                await FinishInterruptedAsync(current!, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private async Task PreflightAsync(RolloutRun run, CancellationToken ct)
    {
        var spec = ContainerSpecFactory.Preflight(_container, steps.ImageName, run.Digest, run.Id);
        await docker.RemoveAsync(spec.Name, ct).ConfigureAwait(false);
        try
        {
            var candidate = await steps.WithImageAsync(run, () => docker.RunAsync(spec, ct), ct).ConfigureAwait(false);
            // A candidate that crashed at once has no published port either; that is the image's fault.
            var address = RolloutSteps.Address(candidate.PublishedPort(_container.GrpcPort))
                ?? throw (candidate.State.IsDown
                    ? new RolloutStepException($"preflight refused the image: the candidate exited with code {candidate.State.ExitCode} before SERVING", imageAtFault: true)
                    : new RolloutStepException("the preflight container has no published gRPC port", imageAtFault: false));
            await steps.VerifyCandidateAsync(run, spec.Name, address, Name, ct).ConfigureAwait(false);
        }
        finally
        {
            await steps.RemoveQuietlyAsync(spec.Name).ConfigureAwait(false);
        }
    }

    private async Task SwapAsync(RolloutRun run, CancellationToken ct)
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

        var spec = ContainerSpecFactory.Managed(_container, steps.ImageName, run.Digest, run.Id);
        await CreateOrRefuseAsync(() => steps.WithImageAsync(run, async () =>
        {
            await docker.CreateAsync(spec, ct).ConfigureAwait(false);
            return true;
        }, ct)).ConfigureAwait(false);

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

    private async Task GateAsync(RolloutRun run, CancellationToken ct)
    {
        var verdict = await GateVerdictAsync(run, run.Container!, ct).ConfigureAwait(false);
        if (verdict.Status != GateStatus.Passed)
        {
            throw new RolloutStepException($"health gate failed: {verdict.Reason}", imageAtFault: true);
        }
    }

    private async Task<GateVerdict> GateVerdictAsync(RolloutRun run, ContainerInfo container, CancellationToken ct)
    {
        var address = RolloutSteps.Address(container.PublishedPort(_container.GrpcPort));
        if (address is null)
        {
            return GateVerdict.Fail($"container port {_container.GrpcPort} is not published");
        }

        var gate = steps.NewGate(container.State.RestartCount);
        return await steps.WatchAsync(Name, address, gate.Observe, serving =>
        {
            if (serving && run.Downtime is null && run.DowntimeStart is { } start)
            {
                run.Downtime = time.GetElapsedTime(start);
            }
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// After the gate: the new container is watched for <c>Deployer:HealthGate:BakeTime</c> while the stopped old one
    /// is kept; a failure rolls back as a failed gate does.
    /// </summary>
    private async Task BakeAsync(RolloutRun run, CancellationToken ct)
    {
        var container = await docker.InspectAsync(Name, ct).ConfigureAwait(false) ?? run.Container!;
        var address = RolloutSteps.Address(container.PublishedPort(_container.GrpcPort));
        if (address is null)
        {
            return;
        }

        await steps.BakeAsync(Name, address, container.State.RestartCount, ct).ConfigureAwait(false);
    }

    private async Task CommitAsync(RolloutRun run, CancellationToken ct)
    {
        await docker.RemoveAsync(PreviousName, ct).ConfigureAwait(false);
        await steps.CommitAsync(run, [Name, PreviousName], ct).ConfigureAwait(false);
    }

    private async Task<bool> RollBackAsync(RolloutRun run, CancellationToken ct)
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
        var address = RolloutSteps.Address(restored?.PublishedPort(_container.GrpcPort));
        if (address is null)
        {
            // An adopted container may publish other ports; running is all that can be checked.
            return restored is { State.Running: true };
        }

        var serving = await Wait.UntilAsync(c => probe.IsServingAsync(address, RolloutSteps.ProbeTimeout, c), _gate.ProbeInterval, _gate.RestoreTimeout, time, ct).ConfigureAwait(false);
        if (serving)
        {
            run.Downtime = time.GetElapsedTime(run.DowntimeStart.Value);
        }

        return serving;
    }

    private async Task FinishInterruptedAsync(ContainerInfo current, CancellationToken ct)
    {
        var run = steps.Resume(current.DeployedDigest ?? "unknown");
        run.Swapped = true;
        run.HadPrevious = true;
        run.Container = current;
        Log.RepairGatingAgain(logger, Name, PreviousName, run.Id);
        try
        {
            await StepAsync(run, "health gate", GateAsync, ct).ConfigureAwait(false);
            if (steps.Bakes)
            {
                await StepAsync(run, "bake", BakeAsync, ct).ConfigureAwait(false);
            }

            await StepAsync(run, "commit", CommitAsync, ct).ConfigureAwait(false);
            await FinishAsync(run, RolloutOutcome.Succeeded, "finished an interrupted rollout", ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (RolloutSteps.IsStepFailure(ex))
        {
            await FailAsync(run, ex, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The one failure path: quarantine the digest when the image is at fault, then refuse (the live container
    /// was not touched) or roll back (it was).
    /// </summary>
    private async Task<RolloutRecord> FailAsync(RolloutRun run, Exception failure, CancellationToken ct)
    {
        if (failure is RolloutStepException { ImageAtFault: true })
        {
            steps.Quarantine(run, failure.Message);
        }

        return run.Swapped
            ? await RollBackAndFinishAsync(run, failure.Message, ct).ConfigureAwait(false)
            : await FinishAsync(run, RolloutOutcome.Refused, failure.Message, ct).ConfigureAwait(false);
    }

    private async Task<RolloutRecord> RollBackAndFinishAsync(RolloutRun run, string detail, CancellationToken ct)
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

    private Task StepAsync(RolloutRun run, string step, Func<RolloutRun, CancellationToken, Task> action, CancellationToken ct)
    {
        _phase = step;
        return steps.StepAsync(run, step, action, ct);
    }

    private Task<RolloutRecord> FinishAsync(RolloutRun run, RolloutOutcome outcome, string detail, CancellationToken ct)
    {
        _phase = null;
        return steps.FinishAsync(run, outcome, detail, ct);
    }
}
