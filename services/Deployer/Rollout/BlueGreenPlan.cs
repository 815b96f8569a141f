using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// The <c>BlueGreen</c> strategy. The edge proxy holds the public ports; the live digest runs in one slot and the
/// candidate starts in the other, where preflight checks it before any client does. Then, as the plan reads: switch
/// the edge to the candidate (the old slot drains but keeps running), gate it through the edge, bake it, and only
/// then drain and remove the old slot and commit. A failure after the switch switches back to the old slot at once.
/// Before each step that moves traffic the phase is written to the state file, so that reconciliation after a kill
/// knows whether to switch back or to finish (docs/edge.md).
/// </summary>
internal sealed class BlueGreenPlan(
    IContainerRuntime docker,
    IEdgeProxy edge,
    IPredictorProbe probe,
    IOptions<ContainerSpecOptions> container,
    IOptions<EdgeOptions> edgeOptions,
    IOptions<PreflightOptions> preflight,
    RolloutSteps steps,
    StateStore state,
    DeployerMetrics metrics,
    TimeProvider time,
    ILogger<BlueGreenPlan> logger) : IRolloutStrategy
{
    private static readonly TimeSpan EdgeStartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan EdgePollInterval = TimeSpan.FromMilliseconds(100);
    private readonly ContainerSpecOptions _container = container.Value;
    private readonly EdgeOptions _edge = edgeOptions.Value;
    private readonly PreflightOptions _preflight = preflight.Value;

    /// <summary>The slot the edge sends calls to, as its configuration file says (blue before the first rollout).</summary>
    private EdgeSlot Live => edge.ConfiguredLiveSlot() ?? EdgeSlot.Blue;

    private EdgeLayout Layout(EdgeSlot live) =>
        EdgeLayout.Create(ContainerSpecFactory.Bindings(_container), _container.GrpcPort, _edge, live);

    private string SlotName(EdgeSlot slot) => SlotContainer.Name(_container.Name, slot);

    private IReadOnlyList<string> SlotNames => [SlotName(EdgeSlot.Blue), SlotName(EdgeSlot.Green)];

    public async Task<RolloutRecord> DeployAsync(string digest, string kind, CancellationToken cancellationToken)
    {
        var run = steps.Start(digest, kind);
        var live = Live;
        // Before the first rollout nothing runs in the live slot: the candidate takes it, so a fresh host starts on blue.
        var empty = await docker.InspectAsync(SlotName(live), cancellationToken).ConfigureAwait(false) is null;
        var slot = empty ? new SlotRun(run, Candidate: live, Old: live.Other()) : new SlotRun(run, Candidate: live.Other(), Old: live);
        try
        {
            await StepAsync(run, "edge", (_, c) => RequireEdgeAsync(c), cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "disk guard", (r, c) => steps.EnsureDiskSpaceAsync(r, SlotNames, c), cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "pull", steps.PullAsync, cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "candidate", (r, c) => StartCandidateAsync(slot, c), cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "switch", (r, c) => SwitchToCandidateAsync(slot, c), cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "health gate", (r, c) => GateAsync(slot, c), cancellationToken).ConfigureAwait(false);
            if (steps.Bakes)
            {
                await StepAsync(run, "bake", (r, c) => BakeAsync(slot, c), cancellationToken).ConfigureAwait(false);
            }

            await StepAsync(run, "retire", (r, c) =>
            {
                Persist(slot, SlotPhases.Retire);
                return RetireAsync(slot.Old, c);
            }, cancellationToken).ConfigureAwait(false);
            await StepAsync(run, "commit", (r, c) => CommitAsync(r, c), cancellationToken).ConfigureAwait(false);
            return await steps.FinishAsync(run, RolloutOutcome.Succeeded, $"slot {slot.Candidate.ServerName()} is live and SERVING", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RolloutSteps.IsStepFailure(ex) || ex is EdgeRuntimeApiException or EdgeSwitchException)
        {
            return await FailAsync(slot, ex, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<ContainerInfo?> LiveAsync(CancellationToken cancellationToken) =>
        await docker.InspectAsync(SlotName(Live), cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Reconciliation, in order: migrate a Recreate host; make the edge run the file's configuration; finish or undo a
    /// rollout a kill interrupted; make the edge's runtime state match the file; remove every slot that is not live.
    /// </summary>
    public async Task RepairAsync(CancellationToken cancellationToken)
    {
        if (!await MigrateFromRecreateAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var live = edge.ConfiguredLiveSlot() ?? await GuessLiveSlotAsync(cancellationToken).ConfigureAwait(false);
        await JoinSlotNetworkAsync(cancellationToken).ConfigureAwait(false);
        await EnsureEdgeAsync(Layout(live), cancellationToken).ConfigureAwait(false);
        if (state.Current.ActiveSlotRollout is { } interrupted)
        {
            await RecoverAsync(interrupted, cancellationToken).ConfigureAwait(false);
            live = Live;
        }

        await AlignEdgeAsync(live, cancellationToken).ConfigureAwait(false);
        foreach (var name in new[] { SlotName(live.Other()), ContainerSpecFactory.PreflightName(_container.Name), ContainerSpecFactory.PreviousName(_container.Name) })
        {
            if (await docker.RemoveAsync(name, cancellationToken).ConfigureAwait(false))
            {
                Log.RepairRemovedStraySlot(logger, name);
            }
        }

        if (await docker.InspectAsync(SlotName(live), cancellationToken).ConfigureAwait(false) is { State.IsDown: true } stopped)
        {
            Log.RepairStartingCurrent(logger, stopped.Name, stopped.State.Status);
            await docker.StartAsync(stopped.Name, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<StrategyStatus> DescribeAsync(CancellationToken cancellationToken)
    {
        var active = state.Current.ActiveSlotRollout;
        var edgeState = await edge.GetStateAsync(cancellationToken).ConfigureAwait(false);
        metrics.EdgeReachable.Set(edgeState is null ? 0 : 1);
        var servers = edgeState?.Servers.Select(s => new EdgeServerStatus(s.Backend, s.Slot.ServerName(), s.Admin.ToString(), s.Up, s.Status, s.CurrentSessions)).ToList();
        return new StrategyStatus(
            nameof(RolloutStrategy.BlueGreen),
            edge.ConfiguredLiveSlot()?.ServerName(),
            active?.Candidate,
            active?.Phase,
            new EdgeStatus(edgeState is not null, servers ?? []));
    }

    /// <summary>
    /// Slots started before <c>Deployer:Edge:SlotNetwork</c> was set (by an older deployer) join it now, at their
    /// addresses, before the edge's file names those addresses: else the live slot would be unreachable.
    /// </summary>
    private async Task JoinSlotNetworkAsync(CancellationToken ct)
    {
        if (EdgeSlotNetwork.Create(_edge) is not { } network)
        {
            return;
        }

        foreach (var slot in Enum.GetValues<EdgeSlot>())
        {
            await docker.ConnectNetworkAsync(SlotName(slot), network.For(slot), ct).ConfigureAwait(false);
        }
    }

    /// <summary>A rollout needs the edge to answer: without it no switch can happen, so nothing is started.</summary>
    private async Task RequireEdgeAsync(CancellationToken ct)
    {
        if (await edge.GetStateAsync(ct).ConfigureAwait(false) is null)
        {
            throw new RolloutStepException($"the edge '{_edge.Name}' does not answer on its runtime API ({_edge.RuntimeApi}); reconciliation starts it", imageAtFault: false);
        }
    }

    /// <summary>Starts the digest in the free slot, on loopback ports only, and checks it as preflight does.</summary>
    private async Task StartCandidateAsync(SlotRun slot, CancellationToken ct)
    {
        var previous = await docker.InspectAsync(SlotName(slot.Old), ct).ConfigureAwait(false);
        slot.Run.HadPrevious = previous is { State.IsDown: false };
        Persist(slot, SlotPhases.Candidate);
        var name = SlotName(slot.Candidate);
        await docker.RemoveAsync(name, ct).ConfigureAwait(false);
        var spec = SlotContainer.Spec(_container, _edge, slot.Candidate, steps.ImageName, slot.Run.Digest, slot.Run.Id);
        ContainerInfo started;
        try
        {
            started = await steps.WithImageAsync(slot.Run, () => docker.RunAsync(spec, ct), ct).ConfigureAwait(false);
        }
        catch (ContainerRuntimeException ex) when (!ex.IsTransient)
        {
            throw new RolloutStepException($"the candidate did not start: {ex.Message}", imageAtFault: true);
        }

        slot.Run.Container = started;
        var address = RolloutSteps.Address(started.PublishedPort(_container.GrpcPort))
            ?? throw new RolloutStepException($"the candidate publishes no gRPC port ({_container.GrpcPort}) on {EdgeLayout.SlotHost}", imageAtFault: false);
        if (_preflight.Enabled)
        {
            await steps.VerifyCandidateAsync(slot.Run, name, address, SlotName(slot.Old), ct).ConfigureAwait(false);
        }
    }

    /// <summary>New calls go to the candidate; the old slot drains but keeps running, ready to take them back.</summary>
    private async Task SwitchToCandidateAsync(SlotRun slot, CancellationToken ct)
    {
        Persist(slot, SlotPhases.Gate);
        var started = time.GetTimestamp();
        try
        {
            await edge.SwitchAsync(Layout(slot.Candidate), ct).ConfigureAwait(false);
        }
        catch (EdgeSwitchException ex)
        {
            // The edge's own checks (GET /readyz) never passed although preflight did: the image is at fault. The
            // switch has put the old slot back in the file and the candidate in maintenance.
            metrics.EdgeSwitch.WithLabels("failed").Observe(time.GetElapsedTime(started).TotalSeconds);
            throw new RolloutStepException($"the edge did not take the candidate: {ex.Message}", imageAtFault: true);
        }

        slot.Run.Swapped = true;
        metrics.EdgeSwitch.WithLabels("ok").Observe(time.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>The candidate must stay SERVING through the edge's public port for <c>StableFor</c>, without a restart.</summary>
    private async Task GateAsync(SlotRun slot, CancellationToken ct)
    {
        var publicAddress = RolloutSteps.Address(Layout(slot.Candidate).Routes.First(r => r.Protocol == EdgeProtocol.Grpc).Public[0])!;
        var gate = steps.NewGate(slot.Run.Container!.State.RestartCount);
        var verdict = await steps.WatchAsync(SlotName(slot.Candidate), publicAddress, gate.Observe, null, ct).ConfigureAwait(false);
        if (verdict.Status != GateStatus.Passed)
        {
            throw new RolloutStepException($"health gate failed: {verdict.Reason}", imageAtFault: true);
        }
    }

    /// <summary>The candidate is watched on its own port for <c>BakeTime</c> while the old slot still runs.</summary>
    private async Task BakeAsync(SlotRun slot, CancellationToken ct)
    {
        Persist(slot, SlotPhases.Bake);
        var name = SlotName(slot.Candidate);
        var now = await docker.InspectAsync(name, ct).ConfigureAwait(false) ?? throw new RolloutStepException($"'{name}' disappeared before the bake", imageAtFault: true);
        var address = RolloutSteps.Address(now.PublishedPort(_container.GrpcPort))!;
        await steps.BakeAsync(name, address, now.State.RestartCount, ct).ConfigureAwait(false);
    }

    /// <summary>Drains <paramref name="slot"/> (its calls in flight finish), then stops and removes its container.</summary>
    private async Task RetireAsync(EdgeSlot slot, CancellationToken ct)
    {
        var drained = await edge.DrainAsync(slot, ct).ConfigureAwait(false);
        metrics.EdgeDrain.Observe(drained.Elapsed.TotalSeconds);
        metrics.EdgeDrainCutCalls.Inc(drained.CutSessions);
        await docker.StopAsync(SlotName(slot), _container.StopTimeout, ct).ConfigureAwait(false);
        await docker.RemoveAsync(SlotName(slot), ct).ConfigureAwait(false);
    }

    private async Task CommitAsync(RolloutRun run, CancellationToken ct)
    {
        await steps.CommitAsync(run, SlotNames, ct).ConfigureAwait(false);
        state.Update(s => s with { ActiveSlotRollout = null });
    }

    /// <summary>
    /// The one failure path: quarantine the digest when the image is at fault; switch the edge back to the old slot
    /// if it had moved (instant: the old slot drained but kept running); remove the candidate.
    /// </summary>
    private async Task<RolloutRecord> FailAsync(SlotRun slot, Exception failure, CancellationToken ct)
    {
        if (failure is RolloutStepException { ImageAtFault: true })
        {
            steps.Quarantine(slot.Run, failure.Message);
        }

        var outcome = RolloutOutcome.Refused;
        try
        {
            if (slot.Run.Swapped)
            {
                outcome = await SwitchBackAsync(slot.Run, slot.Candidate, slot.Old, ct).ConfigureAwait(false);
            }
            else
            {
                await steps.RemoveQuietlyAsync(SlotName(slot.Candidate)).ConfigureAwait(false);
            }

            state.Update(s => s with { ActiveSlotRollout = null });
        }
        catch (Exception ex) when (RolloutSteps.IsStepFailure(ex) || ex is EdgeRuntimeApiException or EdgeSwitchException)
        {
            // The state file still names the rollout: reconciliation switches back on the next tick.
            Log.RollbackIncomplete(logger, slot.Run.Id, ex.Message);
            outcome = RolloutOutcome.Failed;
        }

        return await steps.FinishAsync(slot.Run, outcome, failure.Message, ct).ConfigureAwait(false);
    }

    /// <summary>Sends new calls back to <paramref name="old"/>, drains and removes <paramref name="candidate"/>.</summary>
    private async Task<RolloutOutcome> SwitchBackAsync(RolloutRun run, EdgeSlot candidate, EdgeSlot old, CancellationToken ct)
    {
        var previous = await docker.InspectAsync(SlotName(old), ct).ConfigureAwait(false);
        if (previous is not { State.Running: true })
        {
            // Nothing to go back to (a first rollout, or the old slot died): the candidate is all there is.
            Log.NothingToRestore(logger, run.Id, SlotName(old));
            await docker.RemoveAsync(SlotName(candidate), ct).ConfigureAwait(false);
            return RolloutOutcome.Failed;
        }

        await StepAsync(run, "switch back", async (_, c) =>
        {
            var started = time.GetTimestamp();
            await edge.SwitchAsync(Layout(old), c).ConfigureAwait(false);
            metrics.EdgeSwitch.WithLabels("ok").Observe(time.GetElapsedTime(started).TotalSeconds);
            await RetireAsync(candidate, c).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        return RolloutOutcome.RolledBack;
    }

    /// <summary>
    /// After a kill in the middle of a rollout: before the switch, the candidate goes; after it, the edge goes back to
    /// the previous slot if it still runs (the candidate was never fully gated), else the candidate stays; after the
    /// bake, the old slot's retirement is finished and the rollout committed.
    /// </summary>
    private async Task RecoverAsync(SlotRollout interrupted, CancellationToken ct)
    {
        if (!EdgeSlots.TryParse(interrupted.Candidate, out var candidate) || !EdgeSlots.TryParse(interrupted.Previous, out var previous))
        {
            state.Update(s => s with { ActiveSlotRollout = null });
            return;
        }

        var run = steps.Resume(interrupted.Digest);
        Log.RepairInterruptedSlotRollout(logger, interrupted.RolloutId, interrupted.Phase, interrupted.Candidate, run.Id);
        if (interrupted.Phase == SlotPhases.Retire && Live == candidate)
        {
            await steps.StepAsync(run, "retire", (_, c) => RetireAsync(previous, c), ct).ConfigureAwait(false);
            await steps.StepAsync(run, "commit", CommitAsync, ct).ConfigureAwait(false);
            await steps.FinishAsync(run, RolloutOutcome.Succeeded, "finished retiring the old slot after an interrupted rollout", ct).ConfigureAwait(false);
            return;
        }

        if (Live != candidate)
        {
            // Never switched, or the switch back had written the file when the kill came: the candidate is not live.
            await docker.RemoveAsync(SlotName(candidate), ct).ConfigureAwait(false);
            state.Update(s => s with { ActiveSlotRollout = null });
            if (interrupted.Phase != SlotPhases.Candidate)
            {
                await steps.FinishAsync(run, RolloutOutcome.RolledBack, "finished switching back to the previous slot after an interrupted rollout", ct).ConfigureAwait(false);
            }

            return;
        }

        run.Swapped = true;
        RolloutOutcome outcome;
        if (await docker.InspectAsync(SlotName(previous), ct).ConfigureAwait(false) is { State.Running: true })
        {
            outcome = await SwitchBackAsync(run, candidate, previous, ct).ConfigureAwait(false);
        }
        else
        {
            // The previous slot is gone, so the candidate stays live: nothing says it is bad, and removing it would
            // leave nothing at all. It is not recorded as good either; say so.
            Log.KeptInterruptedCandidate(logger, run.Id, SlotName(candidate));
            outcome = RolloutOutcome.Failed;
        }

        state.Update(s => s with { ActiveSlotRollout = null });
        await steps.FinishAsync(run, outcome, outcome == RolloutOutcome.RolledBack
            ? "switched back to the previous slot after an interrupted rollout"
            : "kept the candidate after an interrupted rollout: the previous slot no longer runs", ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The edge runs the file's configuration: the file is written (or rewritten when the settings changed), the
    /// container is created, started or restarted to read it, and its runtime API answers.
    /// </summary>
    private async Task EnsureEdgeAsync(EdgeLayout layout, CancellationToken ct)
    {
        var written = await edge.EnsureConfigAsync(layout, ct).ConfigureAwait(false);
        var current = await docker.InspectAsync(_edge.Name, ct).ConfigureAwait(false);
        if (current is not null && current.Labels.GetValueOrDefault(ContainerLabels.Image) != _edge.Image)
        {
            Log.EdgeReplaced(logger, _edge.Name, _edge.Image);
            await docker.RemoveAsync(_edge.Name, ct).ConfigureAwait(false);
            current = null;
        }

        if (current is null)
        {
            Log.EdgeCreated(logger, _edge.Name, layout.Live);
            await docker.RunAsync(EdgeContainer.Spec(_edge), ct).ConfigureAwait(false);
        }
        else if (current.State.IsDown)
        {
            Log.EdgeStarted(logger, _edge.Name, current.State.Status);
            await docker.StartAsync(_edge.Name, ct).ConfigureAwait(false);
        }
        else if (written)
        {
            // Its settings changed (ports, timeouts): HAProxy reads its file only at start.
            Log.EdgeRestarted(logger, _edge.Name);
            await docker.StopAsync(_edge.Name, _container.StopTimeout, ct).ConfigureAwait(false);
            await docker.StartAsync(_edge.Name, ct).ConfigureAwait(false);
        }
        else
        {
            return;
        }

        var answers = await Wait.UntilAsync(async c => await edge.GetStateAsync(c).ConfigureAwait(false) is not null, EdgePollInterval, EdgeStartTimeout, time, ct).ConfigureAwait(false);
        if (!answers)
        {
            throw new EdgeRuntimeApiException($"the edge '{_edge.Name}' did not answer on its runtime API ({_edge.RuntimeApi}) within {EdgeStartTimeout}");
        }
    }

    /// <summary>
    /// The runtime state survives only as long as the edge process: after a kill mid-switch it may still send calls to
    /// both slots, or to none. The live slot is made ready and the other one drained to maintenance.
    /// </summary>
    private async Task AlignEdgeAsync(EdgeSlot live, CancellationToken ct)
    {
        var current = await edge.GetStateAsync(ct).ConfigureAwait(false);
        if (current is null)
        {
            return;
        }

        var liveServers = current.Servers.Where(s => s.Slot == live).ToList();
        var liveContainer = await docker.InspectAsync(SlotName(live), ct).ConfigureAwait(false);
        if (liveContainer is { State.Running: true } && liveServers.Any(s => s.Admin != EdgeAdminState.Ready))
        {
            Log.EdgeRealigned(logger, live);
            await edge.SwitchAsync(Layout(live), ct).ConfigureAwait(false);
        }

        if (current.Servers.Concat(current.Standbys).Any(s => s.Slot == live.Other() && s.Admin != EdgeAdminState.Maintenance))
        {
            var drained = await edge.DrainAsync(live.Other(), ct).ConfigureAwait(false);
            metrics.EdgeDrain.Observe(drained.Elapsed.TotalSeconds);
            metrics.EdgeDrainCutCalls.Inc(drained.CutSessions);
        }
    }

    /// <summary>
    /// A host that ran <c>Recreate</c> has the predictor under <c>Deployer:Container:Name</c>, on the public ports the
    /// edge needs. Its digest is started in the blue slot; once that serves, the old container goes and the edge
    /// starts. The gap between the two is the only one a migration costs. False while the old container still holds
    /// the public ports (the migration failed or cannot start): then nothing else may touch the edge.
    /// </summary>
    private async Task<bool> MigrateFromRecreateAsync(CancellationToken ct)
    {
        var legacy = await docker.InspectAsync(_container.Name, ct).ConfigureAwait(false);
        if (legacy is null || legacy.State.IsDown)
        {
            return true;
        }

        if (edge.ConfiguredLiveSlot() is { } live && await docker.InspectAsync(SlotName(live), ct).ConfigureAwait(false) is { State.Running: true })
        {
            // The slots already run behind an edge, and something started the old layout again by hand: it holds the
            // edge's ports, so it goes, and the edge serves the live slot again.
            Log.LegacyContainerRemoved(logger, _container.Name);
            await docker.StopAsync(_container.Name, _container.StopTimeout, ct).ConfigureAwait(false);
            await docker.RemoveAsync(_container.Name, ct).ConfigureAwait(false);
            return true;
        }

        var digest = Decisions.RunningDigest(legacy, steps.ImageName, null);
        if (digest is null)
        {
            Log.MigrationImpossible(logger, _container.Name, steps.ImageName);
            return false;
        }

        var run = steps.Start(digest, RolloutKinds.Migrate);
        Log.MigrationStarted(logger, run.Id, _container.Name, SlotName(EdgeSlot.Blue));
        var blue = SlotName(EdgeSlot.Blue);
        await docker.RemoveAsync(blue, ct).ConfigureAwait(false);
        var started = await steps.WithImageAsync(run, () => docker.RunAsync(SlotContainer.Spec(_container, _edge, EdgeSlot.Blue, steps.ImageName, digest, run.Id), ct), ct).ConfigureAwait(false);
        var address = RolloutSteps.Address(started.PublishedPort(_container.GrpcPort))!;
        var serving = await Wait.UntilAsync(c => probe.IsServingAsync(address, RolloutSteps.ProbeTimeout, c), EdgePollInterval, _preflight.Timeout, time, ct).ConfigureAwait(false);
        if (!serving)
        {
            await steps.RemoveQuietlyAsync(blue).ConfigureAwait(false);
            await steps.FinishAsync(run, RolloutOutcome.Failed, $"migration: '{blue}' was not SERVING within Deployer:Preflight:Timeout; '{_container.Name}' keeps serving", ct).ConfigureAwait(false);
            return false;
        }

        var layout = Layout(EdgeSlot.Blue);
        await edge.WriteConfigAsync(layout, ct).ConfigureAwait(false);
        run.DowntimeStart = time.GetTimestamp();
        await docker.StopAsync(_container.Name, _container.StopTimeout, ct).ConfigureAwait(false);
        await docker.RemoveAsync(_container.Name, ct).ConfigureAwait(false);
        await EnsureEdgeAsync(layout, ct).ConfigureAwait(false);
        await edge.SwitchAsync(layout, ct).ConfigureAwait(false);
        run.Downtime = time.GetElapsedTime(run.DowntimeStart.Value);
        state.Update(s => s with { GoodDigests = [digest, .. s.GoodDigests.Where(d => d != digest).Take(9)] });
        await steps.FinishAsync(run, RolloutOutcome.Succeeded, $"migrated from Recreate: '{blue}' serves behind the edge '{_edge.Name}'", ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Without a configuration file: the slot that runs, preferring the last good digest; else blue.</summary>
    private async Task<EdgeSlot> GuessLiveSlotAsync(CancellationToken ct)
    {
        var running = new List<(EdgeSlot Slot, ContainerInfo Info)>();
        foreach (var slot in Enum.GetValues<EdgeSlot>())
        {
            if (await docker.InspectAsync(SlotName(slot), ct).ConfigureAwait(false) is { State.IsDown: false } info)
            {
                running.Add((slot, info));
            }
        }

        var good = state.Current.GoodDigests is [var newest, ..] ? newest : null;
        return running.Where(r => r.Info.DeployedDigest == good).Select(r => (EdgeSlot?)r.Slot).FirstOrDefault()
            ?? running.Select(r => (EdgeSlot?)r.Slot).FirstOrDefault()
            ?? EdgeSlot.Blue;
    }

    private void Persist(SlotRun slot, string phase)
    {
        var record = new SlotRollout(slot.Run.Id, slot.Run.Digest, slot.Run.Kind, slot.Candidate.ServerName(), slot.Old.ServerName(), phase);
        state.Update(s => s with { ActiveSlotRollout = record });
    }

    private Task StepAsync(RolloutRun run, string step, Func<RolloutRun, CancellationToken, Task> action, CancellationToken ct) =>
        steps.StepAsync(run, step, action, ct);

    /// <summary>One rollout and the two slots it moves between.</summary>
    private sealed record SlotRun(RolloutRun Run, EdgeSlot Candidate, EdgeSlot Old);
}
