using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// Reconciliation for the blue/green strategy, on start and on every tick: it migrates a Recreate host, keeps the edge
/// running the file's configuration, finishes or undoes a rollout that a kill or a fault interrupted, and makes the
/// edge and the file route to a slot that serves, deciding from the edge's runtime state, the containers and the file
/// together. Every removal goes through <see cref="BlueGreenSlots.RemoveAsync"/>; the edge container itself is
/// <see cref="EdgeUpkeep"/>'s.
/// </summary>
internal sealed class BlueGreenReconciler(
    BlueGreenSlots slots,
    IContainerRuntime docker,
    IEdgeProxy edge,
    EdgeUpkeep upkeep,
    IPredictorProbe probe,
    IOptions<PreflightOptions> preflight,
    RolloutSteps steps,
    StateStore state,
    TimeProvider time,
    ILogger<BlueGreenStrategy> logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private readonly PreflightOptions _preflight = preflight.Value;

    /// <summary>
    /// Reconciliation, in order: migrate a Recreate host; make the edge run the file's configuration; finish or undo a
    /// rollout a kill (or a fault) interrupted; decide the live slot from the edge's runtime state, the containers and
    /// the file together, and make the edge and the file route to it; remove the other slot only when the edge's
    /// runtime state shows that the live slot serves (the invariant in docs/edge.md).
    /// </summary>
    public async Task RepairAsync(CancellationToken cancellationToken)
    {
        if (!await MigrateFromRecreateAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var fileLive = edge.ConfiguredLiveSlot() ?? await GuessLiveSlotAsync(cancellationToken).ConfigureAwait(false);
        await upkeep.JoinSlotNetworkAsync(cancellationToken).ConfigureAwait(false);
        await upkeep.EnsureAsync(slots.Layout(fileLive), cancellationToken).ConfigureAwait(false);
        if (state.Current.ActiveSlotRollout is { } interrupted)
        {
            await RecoverAsync(interrupted, cancellationToken).ConfigureAwait(false);
        }

        var view = await ObserveAsync(cancellationToken).ConfigureAwait(false);
        if (view.Edge is null)
        {
            Log.RepairEdgeSilent(logger);
            return;
        }

        var live = ChooseLive(view);
        await RouteToAsync(live, view, cancellationToken).ConfigureAwait(false);
        try
        {
            if (await slots.RemoveAsync(live.Other(), cancellationToken).ConfigureAwait(false))
            {
                Log.RepairRemovedStraySlot(logger, slots.Name(live.Other()));
            }
        }
        catch (RolloutStepException)
        {
            // Kept, and logged with the reason: the next tick looks again.
        }

        foreach (var name in new[] { ContainerSpecFactory.PreflightName(slots.Container.Name), ContainerSpecFactory.PreviousName(slots.Container.Name) })
        {
            // Leftovers of the Recreate layout: never behind the edge.
            if (await docker.RemoveAsync(name, cancellationToken).ConfigureAwait(false))
            {
                Log.RepairRemovedStraySlot(logger, name);
            }
        }

        if (await docker.InspectAsync(slots.Name(live), cancellationToken).ConfigureAwait(false) is { State.IsDown: true } stopped)
        {
            Log.RepairStartingCurrent(logger, stopped.Name, stopped.State.Status);
            await docker.StartAsync(stopped.Name, cancellationToken).ConfigureAwait(false);
        }

        if (state.Rebuilt && state.Current.GoodDigests.Count == 0 && view.Serving.Contains(live)
            && await docker.InspectAsync(slots.Name(live), cancellationToken).ConfigureAwait(false) is { DeployedDigest: { } digest })
        {
            Log.StateRebuiltGood(logger, digest, slots.Name(live));
            state.Update(s => s with { GoodDigests = [digest] });
        }
    }

    /// <summary>What reconciliation decides from: the file, the edge's runtime state, and the slots that run and answer SERVING.</summary>
    private async Task<View> ObserveAsync(CancellationToken ct)
    {
        var serving = new List<EdgeSlot>();
        foreach (var slot in Enum.GetValues<EdgeSlot>())
        {
            if (await docker.InspectAsync(slots.Name(slot), ct).ConfigureAwait(false) is { State.Running: true } info
                && RolloutSteps.Address(info.PublishedPort(slots.Container.GrpcPort)) is { } address
                && await probe.IsServingAsync(address, RolloutSteps.ProbeTimeout, ct).ConfigureAwait(false))
            {
                serving.Add(slot);
            }
        }

        return new View(edge.ConfiguredLiveSlot(), await edge.GetStateAsync(ct).ConfigureAwait(false), serving);
    }

    /// <summary>
    /// The live slot: the file's, if it serves; else the one the edge's runtime state routes to, if it serves; else any
    /// slot that serves, preferring the last good digest's; else the file's (nothing serves: nothing to choose).
    /// </summary>
    private EdgeSlot ChooseLive(View view)
    {
        var runtimeLive = view.Edge?.Live;
        EdgeSlot chosen;
        if (view.FileLive is { } file && view.Serving.Contains(file))
        {
            chosen = file;
        }
        else if (runtimeLive is { } routed && view.Serving.Contains(routed))
        {
            chosen = routed;
        }
        else if (view.Serving.Count > 0)
        {
            chosen = view.Serving[0];
        }
        else
        {
            return view.FileLive ?? EdgeSlot.Blue;
        }

        if (chosen != view.FileLive || (runtimeLive is not null && runtimeLive != chosen))
        {
            Log.LiveDisagreement(logger, view.FileLive?.ServerName() ?? "no slot", runtimeLive?.ServerName() ?? "no single slot",
                string.Join(", ", view.Serving.Select(s => s.ServerName())), chosen);
        }

        return chosen;
    }

    /// <summary>
    /// Makes the edge's runtime state and the file route to <paramref name="live"/> alone (with its own standby as the
    /// backup), when it serves: after an edge restart, a kill mid-switch or a fault, they may route to both slots, to
    /// the other one, or to none.
    /// </summary>
    private async Task RouteToAsync(EdgeSlot live, View view, CancellationToken ct)
    {
        if (!view.Serving.Contains(live) || view.Edge is not { } now)
        {
            return;
        }

        var layout = slots.Layout(live);
        if (view.FileLive != live || !now.IsUpEverywhere(live, layout))
        {
            Log.EdgeRealigned(logger, live);
            await edge.SwitchAsync(layout, ct).ConfigureAwait(false);
            now = await edge.GetStateAsync(ct).ConfigureAwait(false) ?? now;
        }

        var standbyReady = now.Standbys.Where(s => s.Slot == live).All(s => s.Admin == EdgeAdminState.Ready);
        if (now.MayRouteTo(live.Other()) || !standbyReady || edge.ConfiguredLiveSlot() != live)
        {
            await slots.RetireOtherAsync(live, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After a kill or a fault in the middle of a rollout. Before the switch the candidate goes. In the gate or the
    /// bake the edge goes back to the previous slot if it serves (the candidate was never fully proven), else the
    /// candidate stays if it serves. In the retire the candidate's rollout is finished and committed if it serves.
    /// Every removal goes through the invariant; an edge that does not answer leaves it all for the next tick.
    /// </summary>
    private async Task RecoverAsync(SlotRollout interrupted, CancellationToken ct)
    {
        if (!EdgeSlots.TryParse(interrupted.Candidate, out var candidate) || !EdgeSlots.TryParse(interrupted.Previous, out var previous))
        {
            state.EndRollout();
            return;
        }

        var view = await ObserveAsync(ct).ConfigureAwait(false);
        if (view.Edge is null)
        {
            Log.RepairEdgeSilent(logger);
            throw new EdgeRuntimeApiException($"the edge's runtime API ({slots.EdgeSettings.RuntimeApi}) does not answer; the interrupted rollout {interrupted.RolloutId} is finished on a later tick", isTransient: true);
        }

        var run = steps.Resume(interrupted.Digest);
        Log.RepairInterruptedSlotRollout(logger, interrupted.RolloutId, interrupted.Phase, interrupted.Candidate, run.Id);
        if (interrupted.Phase == SlotPhases.Candidate)
        {
            await slots.RemoveAsync(candidate, ct).ConfigureAwait(false);
            state.EndRollout();
            return;
        }

        var candidateServes = view.Serving.Contains(candidate);
        var previousServes = view.Serving.Contains(previous);
        RolloutOutcome outcome;
        string detail;
        if (interrupted.Phase == SlotPhases.Retire && candidateServes)
        {
            await RouteToAsync(candidate, view, ct).ConfigureAwait(false);
            await steps.StepAsync(run, "retire", async (_, c) => await slots.RemoveAsync(previous, c).ConfigureAwait(false), ct).ConfigureAwait(false);
            await steps.StepAsync(run, "commit", async (r, c) =>
            {
                await slots.RequireServingAsync(candidate, c).ConfigureAwait(false);
                await steps.CommitAsync(r, slots.Names, c).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
            outcome = RolloutOutcome.Succeeded;
            detail = "finished retiring the old slot after an interrupted rollout";
        }
        else if (previousServes)
        {
            await RouteToAsync(previous, view, ct).ConfigureAwait(false);
            await slots.RemoveAsync(candidate, ct).ConfigureAwait(false);
            outcome = RolloutOutcome.RolledBack;
            detail = "switched back to the previous slot after an interrupted rollout";
        }
        else if (candidateServes)
        {
            // The previous slot is gone, so the candidate stays live: nothing says it is bad, and removing it would
            // leave nothing at all. It is not recorded as good either; say so.
            Log.KeptInterruptedCandidate(logger, run.Id, slots.Name(candidate));
            await RouteToAsync(candidate, view, ct).ConfigureAwait(false);
            outcome = RolloutOutcome.Failed;
            detail = "kept the candidate after an interrupted rollout: the previous slot no longer runs";
        }
        else
        {
            outcome = RolloutOutcome.Failed;
            detail = "neither slot answers SERVING after an interrupted rollout; nothing was removed";
        }

        state.EndRollout();
        await steps.FinishAsync(run, outcome, detail, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A host that ran <c>Recreate</c> has the predictor under <c>Deployer:Container:Name</c>, on the public ports the
    /// edge needs. Its digest is started in the blue slot; once that serves, the old container goes and the edge
    /// starts. The gap between the two is the only one a migration costs. False while the old container still holds
    /// the public ports (the migration failed or cannot start): then nothing else may touch the edge.
    /// </summary>
    private async Task<bool> MigrateFromRecreateAsync(CancellationToken ct)
    {
        var legacy = await docker.InspectAsync(slots.Container.Name, ct).ConfigureAwait(false);
        if (legacy is null || legacy.State.IsDown)
        {
            return true;
        }

        if (edge.ConfiguredLiveSlot() is { } live && await docker.InspectAsync(slots.Name(live), ct).ConfigureAwait(false) is { State.Running: true })
        {
            // The slots already run behind an edge, and something started the old layout again by hand: it holds the
            // edge's ports, so it goes, and the edge serves the live slot again.
            Log.LegacyContainerRemoved(logger, slots.Container.Name);
            await docker.StopAsync(slots.Container.Name, slots.Container.StopTimeout, ct).ConfigureAwait(false);
            await docker.RemoveAsync(slots.Container.Name, ct).ConfigureAwait(false);
            return true;
        }

        var digest = Decisions.RunningDigest(legacy, steps.ImageName, null);
        if (digest is null)
        {
            Log.MigrationImpossible(logger, slots.Container.Name, steps.ImageName);
            return false;
        }

        var run = steps.Start(digest, RolloutKinds.Migrate);
        Log.MigrationStarted(logger, run.Id, slots.Container.Name, slots.Name(EdgeSlot.Blue));
        var blue = slots.Name(EdgeSlot.Blue);
        await docker.RemoveAsync(blue, ct).ConfigureAwait(false);
        var started = await steps.WithImageAsync(run, () => docker.RunAsync(SlotContainer.Spec(slots.Container, slots.EdgeSettings, EdgeSlot.Blue, steps.ImageName, digest, run.Id), ct), ct).ConfigureAwait(false);
        var address = RolloutSteps.Address(started.PublishedPort(slots.Container.GrpcPort))!;
        var serving = await Wait.UntilAsync(c => probe.IsServingAsync(address, RolloutSteps.ProbeTimeout, c), PollInterval, _preflight.Timeout, time, ct).ConfigureAwait(false);
        if (!serving)
        {
            await steps.RemoveQuietlyAsync(blue).ConfigureAwait(false);
            await steps.FinishAsync(run, RolloutOutcome.Failed, $"migration: '{blue}' was not SERVING within Deployer:Preflight:Timeout; '{slots.Container.Name}' keeps serving", ct).ConfigureAwait(false);
            return false;
        }

        var layout = slots.Layout(EdgeSlot.Blue);
        await edge.WriteConfigAsync(layout, ct).ConfigureAwait(false);
        run.DowntimeStart = time.GetTimestamp();
        await docker.StopAsync(slots.Container.Name, slots.Container.StopTimeout, ct).ConfigureAwait(false);
        await docker.RemoveAsync(slots.Container.Name, ct).ConfigureAwait(false);
        await upkeep.EnsureAsync(layout, ct).ConfigureAwait(false);
        await edge.SwitchAsync(layout, ct).ConfigureAwait(false);
        run.Downtime = time.GetElapsedTime(run.DowntimeStart.Value);
        state.Commit(digest);
        await steps.FinishAsync(run, RolloutOutcome.Succeeded, $"migrated from Recreate: '{blue}' serves behind the edge '{slots.EdgeSettings.Name}'", ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Without a configuration file: the slot that runs, preferring the last good digest; else blue.</summary>
    private async Task<EdgeSlot> GuessLiveSlotAsync(CancellationToken ct)
    {
        var running = new List<(EdgeSlot Slot, ContainerInfo Info)>();
        foreach (var slot in Enum.GetValues<EdgeSlot>())
        {
            if (await docker.InspectAsync(slots.Name(slot), ct).ConfigureAwait(false) is { State.IsDown: false } info)
            {
                running.Add((slot, info));
            }
        }

        var good = state.Current.GoodDigests is [var newest, ..] ? newest : null;
        return running.Where(r => r.Info.DeployedDigest == good).Select(r => (EdgeSlot?)r.Slot).FirstOrDefault()
            ?? running.Select(r => (EdgeSlot?)r.Slot).FirstOrDefault()
            ?? EdgeSlot.Blue;
    }

    /// <summary>What reconciliation sees: the file's live slot, the edge's runtime state (null: silent), the slots that serve.</summary>
    private sealed record View(EdgeSlot? FileLive, EdgeState? Edge, IReadOnlyList<EdgeSlot> Serving);
}
