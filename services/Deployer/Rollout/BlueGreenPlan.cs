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
    EdgeImage edgeImage,
    EdgeTls edgeTls,
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
        SlotRun slot;
        try
        {
            // Before the first rollout nothing runs in the live slot: the candidate takes it, so a fresh host starts on blue.
            var empty = await docker.InspectAsync(SlotName(live), cancellationToken).ConfigureAwait(false) is null;
            slot = empty ? new SlotRun(run, Candidate: live, Old: live.Other()) : new SlotRun(run, Candidate: live.Other(), Old: live);
        }
        catch (ContainerRuntimeException ex)
        {
            return await steps.FinishAsync(run, RolloutOutcome.Refused, $"the engine did not answer before the rollout: {ex.Message}", cancellationToken).ConfigureAwait(false);
        }

        try
        {
            // Each step names the phase written to state.json before it runs (null: nothing to undo yet).
            await RunAsync(slot, "edge", null, c => RequireEdgeAsync(c), cancellationToken).ConfigureAwait(false);
            await RunAsync(slot, "disk guard", null, c => steps.EnsureDiskSpaceAsync(run, SlotNames, c), cancellationToken).ConfigureAwait(false);
            await RunAsync(slot, "signature", null, c => steps.VerifySignatureAsync(run, c), cancellationToken).ConfigureAwait(false);
            await RunAsync(slot, "pull", null, c => steps.PullAsync(run, c), cancellationToken).ConfigureAwait(false);
            await RunAsync(slot, "candidate", SlotPhases.Candidate, c => StartCandidateAsync(slot, c), cancellationToken).ConfigureAwait(false);
            await RunAsync(slot, "switch", SlotPhases.Gate, c => SwitchToCandidateAsync(slot, c), cancellationToken).ConfigureAwait(false);
            await RunAsync(slot, "health gate", SlotPhases.Gate, c => GateAsync(slot, c), cancellationToken).ConfigureAwait(false);
            if (steps.Bakes)
            {
                await RunAsync(slot, "bake", SlotPhases.Bake, c => BakeAsync(slot, c), cancellationToken).ConfigureAwait(false);
            }

            await RunAsync(slot, "retire", SlotPhases.Retire, c => RetireOldAsync(slot, c), cancellationToken).ConfigureAwait(false);
            await RunAsync(slot, "commit", SlotPhases.Retire, c => CommitAsync(run, slot.Candidate, c), cancellationToken).ConfigureAwait(false);
            return await steps.FinishAsync(run, RolloutOutcome.Succeeded, $"slot {slot.Candidate.ServerName()} is live and SERVING", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsFault(ex))
        {
            return await FailAsync(slot, ex, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<ContainerInfo?> LiveAsync(CancellationToken cancellationToken) =>
        await docker.InspectAsync(SlotName(Live), cancellationToken).ConfigureAwait(false);

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
        await JoinSlotNetworkAsync(cancellationToken).ConfigureAwait(false);
        await EnsureEdgeAsync(Layout(fileLive), cancellationToken).ConfigureAwait(false);
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
            if (await RemoveSlotAsync(live.Other(), cancellationToken).ConfigureAwait(false))
            {
                Log.RepairRemovedStraySlot(logger, SlotName(live.Other()));
            }
        }
        catch (RolloutStepException)
        {
            // Kept, and logged with the reason: the next tick looks again.
        }

        foreach (var name in new[] { ContainerSpecFactory.PreflightName(_container.Name), ContainerSpecFactory.PreviousName(_container.Name) })
        {
            // Leftovers of the Recreate layout: never behind the edge.
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

        if (state.Rebuilt && state.Current.GoodDigests.Count == 0 && view.Serving.Contains(live)
            && await docker.InspectAsync(SlotName(live), cancellationToken).ConfigureAwait(false) is { DeployedDigest: { } digest })
        {
            Log.StateRebuiltGood(logger, digest, SlotName(live));
            state.Update(s => s with { GoodDigests = [digest] });
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
            new EdgeStatus(edgeState is not null, servers ?? []) { ImageProblem = edgeImage.Problem, TlsProblem = edgeTls.Problem, Certificate = edgeTls.Current?.ToString() });
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

    /// <summary>A failure the plan answers by undoing or leaving the rollout for reconciliation; anything else is a bug.</summary>
    private static bool IsFault(Exception ex) =>
        RolloutSteps.IsStepFailure(ex) || ex is EdgeRuntimeApiException or EdgeSwitchException or IOException or UnauthorizedAccessException;

    /// <summary>Writes the step's phase to the state file (when it names one and it changed), then runs the step.</summary>
    private Task RunAsync(SlotRun slot, string step, string? phase, Func<CancellationToken, Task> action, CancellationToken ct) =>
        steps.StepAsync(slot.Run, step, async (_, c) =>
        {
            if (phase is not null && phase != slot.Phase)
            {
                state.BeginPhase(new SlotRollout(slot.Run.Id, slot.Run.Digest, slot.Run.Kind, slot.Candidate.ServerName(), slot.Old.ServerName(), phase));
                slot.Phase = phase;
            }

            await action(c).ConfigureAwait(false);
        }, ct);

    /// <summary>A rollout needs the edge to answer: without it no switch can happen, so nothing is started.</summary>
    private async Task RequireEdgeAsync(CancellationToken ct)
    {
        if (await EdgeStateAsync(ct).ConfigureAwait(false) is null)
        {
            throw new RolloutStepException($"the edge '{_edge.Name}' does not answer on its runtime API ({_edge.RuntimeApi}) within Deployer:Edge:RuntimeApiWait; reconciliation starts it", imageAtFault: false);
        }
    }

    /// <summary>Starts the digest in the free slot, on loopback ports only, and checks it as preflight does.</summary>
    private async Task StartCandidateAsync(SlotRun slot, CancellationToken ct)
    {
        var previous = await docker.InspectAsync(SlotName(slot.Old), ct).ConfigureAwait(false);
        slot.Run.HadPrevious = previous is { State.IsDown: false };
        var name = SlotName(slot.Candidate);
        await RemoveSlotAsync(slot.Candidate, ct).ConfigureAwait(false);
        var spec = SlotContainer.Spec(_container, _edge, slot.Candidate, steps.ImageName, slot.Run.Digest, slot.Run.Id);
        ContainerInfo started;
        try
        {
            started = await steps.WithImageAsync(slot.Run, () => docker.RunAsync(spec, ct), ct).ConfigureAwait(false);
        }
        catch (ContainerRuntimeException ex) when (!ex.IsTransient && !ex.IsMissingImage)
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
        // From the first runtime command on, the edge may route to the candidate: no failure path may remove it
        // before the edge has been switched back.
        slot.Run.Swapped = true;
        var started = time.GetTimestamp();
        try
        {
            await edge.SwitchAsync(Layout(slot.Candidate), ct).ConfigureAwait(false);
        }
        catch (EdgeSwitchException ex)
        {
            // The edge's own checks (GET /readyz) never passed although preflight did: the image is at fault. The
            // switch has put the candidate back in maintenance and left the file naming the old slot.
            metrics.EdgeSwitch.WithLabels("failed").Observe(time.GetElapsedTime(started).TotalSeconds);
            throw new RolloutStepException($"the edge did not take the candidate: {ex.Message}", imageAtFault: true);
        }

        metrics.EdgeSwitch.WithLabels("ok").Observe(time.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>The candidate must stay SERVING through the edge's public port for <c>StableFor</c>, without a restart.</summary>
    private async Task GateAsync(SlotRun slot, CancellationToken ct)
    {
        var publicAddress = RolloutSteps.Address(Layout(slot.Candidate).Routes.First(r => r.Protocol == EdgeProtocol.Grpc).Public[0])!;
        if (edgeTls.Enabled)
        {
            // The probe pins the certificate the edge serves (EdgeTls): a client's view, TLS included.
            publicAddress = new UriBuilder(publicAddress) { Scheme = Uri.UriSchemeHttps }.Uri;
        }

        var gate = steps.NewGate(slot.Run.Container!.State.RestartCount);
        var verdict = await steps.WatchAsync(SlotName(slot.Candidate), publicAddress, gate.Observe, null, ct).ConfigureAwait(false);
        if (verdict.Status != GateStatus.Passed)
        {
            // Through the public port the edge is judged too: the image is at fault only if it fails on its own port.
            var own = RolloutSteps.Address(slot.Run.Container.PublishedPort(_container.GrpcPort));
            var itself = own is null || !await probe.IsServingAsync(own, RolloutSteps.ProbeTimeout, ct).ConfigureAwait(false)
                || await docker.InspectAsync(SlotName(slot.Candidate), ct).ConfigureAwait(false) is not { State.Running: true, State.RestartCount: var restarts }
                || restarts != slot.Run.Container.State.RestartCount;
            throw new RolloutStepException($"health gate failed: {verdict.Reason}", imageAtFault: itself);
        }
    }

    /// <summary>The candidate is watched on its own port for <c>BakeTime</c> while the old slot still runs.</summary>
    private async Task BakeAsync(SlotRun slot, CancellationToken ct)
    {
        var name = SlotName(slot.Candidate);
        var now = await docker.InspectAsync(name, ct).ConfigureAwait(false) ?? throw new RolloutStepException($"'{name}' disappeared before the bake", imageAtFault: true);
        var address = RolloutSteps.Address(now.PublishedPort(_container.GrpcPort))
            ?? throw new RolloutStepException($"'{name}' publishes no gRPC port before the bake: it is not running", imageAtFault: true);
        await steps.BakeAsync(name, address, now.State.RestartCount, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The edge's own word first: the candidate ready and UP in every backend, and the file naming it. Then the old
    /// slot drains to maintenance and its container goes.
    /// </summary>
    private async Task RetireOldAsync(SlotRun slot, CancellationToken ct)
    {
        await RequireServingAsync(slot.Candidate, ct).ConfigureAwait(false);
        var drained = await edge.RetireAsync(Layout(slot.Candidate), ct).ConfigureAwait(false);
        metrics.EdgeDrain.Observe(drained.Elapsed.TotalSeconds);
        metrics.EdgeDrainCutCalls.Inc(drained.CutSessions);
        await RemoveSlotAsync(slot.Old, ct).ConfigureAwait(false);
    }

    private async Task CommitAsync(RolloutRun run, EdgeSlot candidate, CancellationToken ct)
    {
        await RequireServingAsync(candidate, ct).ConfigureAwait(false);
        await steps.CommitAsync(run, SlotNames, ct).ConfigureAwait(false);
    }

    /// <summary>Throws unless the edge's runtime state shows <paramref name="slot"/> ready and UP everywhere, and the file names it.</summary>
    private async Task RequireServingAsync(EdgeSlot slot, CancellationToken ct)
    {
        var now = await EdgeStateAsync(ct).ConfigureAwait(false)
            ?? throw new EdgeRuntimeApiException($"the edge's runtime API ({_edge.RuntimeApi}) did not answer within Deployer:Edge:RuntimeApiWait, so it cannot confirm slot {slot}", isTransient: true);
        if (!now.IsUpEverywhere(slot, Layout(slot)))
        {
            throw new RolloutStepException($"the edge does not show slot {slot} UP in every backend", imageAtFault: true);
        }

        if (edge.ConfiguredLiveSlot() != slot)
        {
            throw new RolloutStepException($"the edge's file does not name slot {slot} live", imageAtFault: false);
        }
    }

    /// <summary>
    /// The one failure path. The digest is quarantined only when the image is at fault. Before the switch the
    /// candidate goes (when the edge shows it does not route there); after it, the edge goes back to the old slot if
    /// it runs and the candidate goes after it; once the old slot is being retired the candidate stays and
    /// reconciliation finishes. Whatever cannot be done now is left in the state file for reconciliation: no path
    /// removes a slot the edge may still route to.
    /// </summary>
    private async Task<RolloutRecord> FailAsync(SlotRun slot, Exception failure, CancellationToken ct)
    {
        var imageAtFault = failure is RolloutStepException { ImageAtFault: true };
        if (imageAtFault)
        {
            try
            {
                steps.Quarantine(slot.Run, failure.Message);
            }
            catch (RolloutStepException ex)
            {
                Log.StateNotWritten(logger, slot.Run.Id, ex.Message);
            }
        }

        var outcome = slot.Run.Swapped ? RolloutOutcome.Failed : RolloutOutcome.Refused;
        var detail = failure.Message;
        try
        {
            if (!slot.Run.Swapped)
            {
                await RemoveSlotAsync(slot.Candidate, ct).ConfigureAwait(false);
                state.EndRollout();
            }
            else if (slot.Phase == SlotPhases.Retire && !(imageAtFault && await RunsAsync(slot.Old, ct).ConfigureAwait(false)))
            {
                // The candidate passed its gate and bake; the old slot may be stopped already. It stays live, and the
                // state file still says "retire", so reconciliation finishes the retire and the commit.
                Log.RetireIncomplete(logger, slot.Run.Id, failure.Message, SlotName(slot.Candidate));
                detail = $"{failure.Message}; slot {slot.Candidate.ServerName()} stays live and reconciliation finishes the retire";
            }
            else if (await RunsAsync(slot.Old, ct).ConfigureAwait(false))
            {
                await SwitchBackAsync(slot.Run, slot.Candidate, slot.Old, ct).ConfigureAwait(false);
                state.EndRollout();
                outcome = RolloutOutcome.RolledBack;
            }
            else
            {
                // Nothing to go back to (a first rollout, or the old slot died): the candidate is all there is.
                Log.NothingToRestore(logger, slot.Run.Id, SlotName(slot.Old));
                state.EndRollout();
            }
        }
        catch (Exception ex) when (IsFault(ex))
        {
            // The state file still names the rollout: reconciliation finishes or undoes it on the next tick.
            Log.RollbackIncomplete(logger, slot.Run.Id, ex.Message);
            outcome = slot.Run.Swapped ? RolloutOutcome.Failed : RolloutOutcome.Refused;
        }

        return await steps.FinishAsync(slot.Run, outcome, detail, ct).ConfigureAwait(false);
    }

    private async Task<bool> RunsAsync(EdgeSlot slot, CancellationToken ct) =>
        await docker.InspectAsync(SlotName(slot), ct).ConfigureAwait(false) is { State.Running: true };

    /// <summary>Sends new calls back to <paramref name="old"/>, drains <paramref name="candidate"/> and removes it.</summary>
    private async Task SwitchBackAsync(RolloutRun run, EdgeSlot candidate, EdgeSlot old, CancellationToken ct) =>
        await steps.StepAsync(run, "switch back", async (_, c) =>
        {
            var started = time.GetTimestamp();
            await edge.SwitchAsync(Layout(old), c).ConfigureAwait(false);
            metrics.EdgeSwitch.WithLabels("ok").Observe(time.GetElapsedTime(started).TotalSeconds);
            var drained = await edge.RetireAsync(Layout(old), c).ConfigureAwait(false);
            metrics.EdgeDrain.Observe(drained.Elapsed.TotalSeconds);
            metrics.EdgeDrainCutCalls.Inc(drained.CutSessions);
            await RemoveSlotAsync(candidate, c).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);

    /// <summary>
    /// The invariant (docs/edge.md): stops and removes <paramref name="slot"/>'s container only when the edge's runtime
    /// state shows either that the other slot runs and is ready and UP in every backend (and the file names it), or
    /// that the edge routes no call to this one (every server of it in maintenance or down, and the file not naming it
    /// while the other serves). Otherwise throws, and the container stays for reconciliation.
    /// </summary>
    private async Task<bool> RemoveSlotAsync(EdgeSlot slot, CancellationToken ct)
    {
        var name = SlotName(slot);
        if (await docker.InspectAsync(name, ct).ConfigureAwait(false) is null)
        {
            return false;
        }

        var now = await EdgeStateAsync(ct).ConfigureAwait(false);
        var reason = now is null ? "the edge's runtime API does not answer, so nothing shows that another slot serves" : WhyNotRemovable(slot, now);
        if (reason is not null && reason.Length > 0)
        {
            Log.SlotKept(logger, name, reason);
            throw new RolloutStepException($"'{name}' was not removed: {reason}", imageAtFault: false);
        }

        if (reason is null && !await RunsAsync(slot.Other(), ct).ConfigureAwait(false))
        {
            // The edge's word is that the other slot serves, but its container does not run: look again next tick.
            throw new RolloutStepException($"'{name}' was not removed: '{SlotName(slot.Other())}' does not run", imageAtFault: false);
        }

        await docker.StopAsync(name, _container.StopTimeout, ct).ConfigureAwait(false);
        return await docker.RemoveAsync(name, ct).ConfigureAwait(false);
    }

    /// <summary>Null when the other slot serves (per the edge); empty when the edge routes nothing to <paramref name="slot"/>; else why not.</summary>
    private string? WhyNotRemovable(EdgeSlot slot, EdgeState now)
    {
        var other = slot.Other();
        var fileLive = edge.ConfiguredLiveSlot();
        if (fileLive == other && now.IsUpEverywhere(other, Layout(other)))
        {
            return null;
        }

        var routed = now.Servers.Concat(now.Standbys).Any(s => s.Slot == slot && s.Admin != EdgeAdminState.Maintenance && s.Up);
        var otherRouted = now.Servers.Concat(now.Standbys).Any(s => s.Slot == other && s.Admin != EdgeAdminState.Maintenance && s.Up);
        if (!routed && (fileLive != slot || !otherRouted))
        {
            return "";
        }

        return $"the edge may route to it (file names {fileLive?.ServerName() ?? "no slot"}) and does not show slot {other.ServerName()} UP in every backend";
    }

    /// <summary>The edge's runtime state, asked again while it does not answer, within <c>Deployer:Edge:RuntimeApiWait</c>; null after that.</summary>
    private async Task<EdgeState?> EdgeStateAsync(CancellationToken ct)
    {
        EdgeState? now = null;
        await Wait.UntilAsync(async c => (now = await edge.GetStateAsync(c).ConfigureAwait(false)) is not null, EdgePollInterval, _edge.RuntimeApiWait, time, ct).ConfigureAwait(false);
        return now;
    }

    /// <summary>What reconciliation decides from: the file, the edge's runtime state, and the slots that run and answer SERVING.</summary>
    private async Task<View> ObserveAsync(CancellationToken ct)
    {
        var serving = new List<EdgeSlot>();
        foreach (var slot in Enum.GetValues<EdgeSlot>())
        {
            if (await docker.InspectAsync(SlotName(slot), ct).ConfigureAwait(false) is { State.Running: true } info
                && RolloutSteps.Address(info.PublishedPort(_container.GrpcPort)) is { } address
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

        var layout = Layout(live);
        if (view.FileLive != live || !now.IsUpEverywhere(live, layout))
        {
            Log.EdgeRealigned(logger, live);
            await edge.SwitchAsync(layout, ct).ConfigureAwait(false);
            now = await edge.GetStateAsync(ct).ConfigureAwait(false) ?? now;
        }

        var standbyReady = now.Standbys.Where(s => s.Slot == live).All(s => s.Admin == EdgeAdminState.Ready);
        if (now.MayRouteTo(live.Other()) || !standbyReady || edge.ConfiguredLiveSlot() != live)
        {
            var drained = await edge.RetireAsync(layout, ct).ConfigureAwait(false);
            metrics.EdgeDrain.Observe(drained.Elapsed.TotalSeconds);
            metrics.EdgeDrainCutCalls.Inc(drained.CutSessions);
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
            throw new EdgeRuntimeApiException($"the edge's runtime API ({_edge.RuntimeApi}) does not answer; the interrupted rollout {interrupted.RolloutId} is finished on a later tick", isTransient: true);
        }

        var run = steps.Resume(interrupted.Digest);
        Log.RepairInterruptedSlotRollout(logger, interrupted.RolloutId, interrupted.Phase, interrupted.Candidate, run.Id);
        if (interrupted.Phase == SlotPhases.Candidate)
        {
            await RemoveSlotAsync(candidate, ct).ConfigureAwait(false);
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
            await steps.StepAsync(run, "retire", async (_, c) => await RemoveSlotAsync(previous, c).ConfigureAwait(false), ct).ConfigureAwait(false);
            await steps.StepAsync(run, "commit", (r, c) => CommitAsync(r, candidate, c), ct).ConfigureAwait(false);
            outcome = RolloutOutcome.Succeeded;
            detail = "finished retiring the old slot after an interrupted rollout";
        }
        else if (previousServes)
        {
            await RouteToAsync(previous, view, ct).ConfigureAwait(false);
            await RemoveSlotAsync(candidate, ct).ConfigureAwait(false);
            outcome = RolloutOutcome.RolledBack;
            detail = "switched back to the previous slot after an interrupted rollout";
        }
        else if (candidateServes)
        {
            // The previous slot is gone, so the candidate stays live: nothing says it is bad, and removing it would
            // leave nothing at all. It is not recorded as good either; say so.
            Log.KeptInterruptedCandidate(logger, run.Id, SlotName(candidate));
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
    /// The edge runs the file's configuration: the file is written (or rewritten when the settings changed), the
    /// container is created, started or restarted to read it, and its runtime API answers.
    /// </summary>
    private async Task EnsureEdgeAsync(EdgeLayout layout, CancellationToken ct)
    {
        // The certificate's checked copy first: the configuration names it, and an edge that starts loads it.
        await edgeTls.PrepareAsync(ct).ConfigureAwait(false);
        var written = await edge.EnsureConfigAsync(layout, ct).ConfigureAwait(false);
        var current = await docker.InspectAsync(_edge.Name, ct).ConfigureAwait(false);
        // A container made from another image, or for another runtime API, is replaced (after its image is pulled).
        var wrongImage = current is not null && !EdgeContainer.IsCurrent(current.Labels, _edge);
        if ((current is null || wrongImage) && !await edgeImage.EnsureAsync(ct).ConfigureAwait(false) && current is null)
        {
            throw new ContainerRuntimeException(edgeImage.Problem!, isTransient: true);
        }

        if (current is not null && !wrongImage)
        {
            edgeImage.InUse();
        }

        if (wrongImage && edgeImage.Problem is null)
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
            // Running on its file: a replaced certificate reaches it through the runtime API, connections kept.
            await edgeTls.ApplyAsync(ct).ConfigureAwait(false);
            return;
        }

        var answers = await Wait.UntilAsync(async c => await edge.GetStateAsync(c).ConfigureAwait(false) is not null, EdgePollInterval, EdgeStartTimeout, time, ct).ConfigureAwait(false);
        if (!answers)
        {
            throw new EdgeRuntimeApiException($"the edge '{_edge.Name}' did not answer on its runtime API ({_edge.RuntimeApi}) within {EdgeStartTimeout}");
        }

        await edgeTls.ApplyAsync(ct).ConfigureAwait(false);
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
        state.Commit(digest);
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

    /// <summary>One rollout and the two slots it moves between.</summary>
    private sealed record SlotRun(RolloutRun Run, EdgeSlot Candidate, EdgeSlot Old)
    {
        /// <summary>The phase last written to the state file for this rollout, or null before the first.</summary>
        public string? Phase { get; set; }
    }

    /// <summary>What reconciliation sees: the file's live slot, the edge's runtime state (null: silent), the slots that serve.</summary>
    private sealed record View(EdgeSlot? FileLive, EdgeState? Edge, IReadOnlyList<EdgeSlot> Serving);
}
