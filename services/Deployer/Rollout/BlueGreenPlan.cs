using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// The blue/green rollout, as it reads: the candidate starts in the free slot, where preflight checks it before any
/// client does; the edge switches to it (the old slot drains but keeps running); it is gated through the edge and
/// baked; only then does the old slot drain and go, and the digest is committed. A failure after the switch switches
/// back to the old slot at once. Before each step that moves traffic the phase is written to the state file, so that
/// <see cref="BlueGreenReconciler"/> knows after a kill whether to switch back or to finish (docs/edge.md).
/// </summary>
internal sealed class BlueGreenPlan(
    BlueGreenSlots slots,
    EdgeTls edgeTls,
    IContainerRuntime docker,
    IPredictorProbe probe,
    IOptions<PreflightOptions> preflight,
    RolloutSteps steps,
    StateStore state,
    ILogger<BlueGreenStrategy> logger)
{
    private readonly PreflightOptions _preflight = preflight.Value;

    public async Task<RolloutRecord> DeployAsync(string digest, string kind, CancellationToken cancellationToken)
    {
        var run = steps.Start(digest, kind);
        var live = slots.Live;
        SlotRun slot;
        try
        {
            // Before the first rollout nothing runs in the live slot: the candidate takes it, so a fresh host starts on blue.
            var empty = await docker.InspectAsync(slots.Name(live), cancellationToken).ConfigureAwait(false) is null;
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
            await RunAsync(slot, "disk guard", null, c => steps.EnsureDiskSpaceAsync(run, slots.Names, c), cancellationToken).ConfigureAwait(false);
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
        if (await slots.EdgeStateAsync(ct).ConfigureAwait(false) is null)
        {
            throw new RolloutStepException($"the edge '{slots.EdgeSettings.Name}' does not answer on its runtime API ({slots.EdgeSettings.RuntimeApi}) within Deployer:Edge:RuntimeApiWait; reconciliation starts it", imageAtFault: false);
        }
    }

    /// <summary>Starts the digest in the free slot, on loopback ports only, and checks it as preflight does.</summary>
    private async Task StartCandidateAsync(SlotRun slot, CancellationToken ct)
    {
        var previous = await docker.InspectAsync(slots.Name(slot.Old), ct).ConfigureAwait(false);
        slot.Run.HadPrevious = previous is { State.IsDown: false };
        var name = slots.Name(slot.Candidate);
        await slots.RemoveAsync(slot.Candidate, ct).ConfigureAwait(false);
        var spec = SlotContainer.Spec(slots.Container, slots.EdgeSettings, slot.Candidate, steps.ImageName, slot.Run.Digest, slot.Run.Id);
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
        var address = RolloutSteps.Address(started.PublishedPort(slots.Container.GrpcPort))
            ?? throw new RolloutStepException($"the candidate publishes no gRPC port ({slots.Container.GrpcPort}) on {EdgeLayout.SlotHost}", imageAtFault: false);
        if (_preflight.Enabled)
        {
            await steps.VerifyCandidateAsync(slot.Run, name, address, slots.Name(slot.Old), ct).ConfigureAwait(false);
        }
    }

    /// <summary>New calls go to the candidate; the old slot drains but keeps running, ready to take them back.</summary>
    private async Task SwitchToCandidateAsync(SlotRun slot, CancellationToken ct)
    {
        // From the first runtime command on, the edge may route to the candidate: no failure path may remove it
        // before the edge has been switched back.
        slot.Run.Swapped = true;
        try
        {
            await slots.SwitchAsync(slot.Candidate, ct).ConfigureAwait(false);
        }
        catch (EdgeSwitchException ex)
        {
            // The edge's own checks (GET /readyz) never passed although preflight did: the image is at fault. The
            // switch has put the candidate back in maintenance and left the file naming the old slot.
            throw new RolloutStepException($"the edge did not take the candidate: {ex.Message}", imageAtFault: true);
        }
    }

    /// <summary>The candidate must stay SERVING through the edge's public port for <c>StableFor</c>, without a restart.</summary>
    private async Task GateAsync(SlotRun slot, CancellationToken ct)
    {
        var publicAddress = RolloutSteps.Address(slots.Layout(slot.Candidate).Routes.First(r => r.Protocol == EdgeProtocol.Grpc).Public[0])!;
        if (edgeTls.Enabled)
        {
            // The probe pins the certificate the edge serves (EdgeTls): a client's view, TLS included.
            publicAddress = new UriBuilder(publicAddress) { Scheme = Uri.UriSchemeHttps }.Uri;
        }

        var gate = steps.NewGate(slot.Run.Container!.State.RestartCount);
        var verdict = await steps.WatchAsync(slots.Name(slot.Candidate), publicAddress, gate.Observe, null, ct).ConfigureAwait(false);
        if (verdict.Status != GateStatus.Passed)
        {
            // Through the public port the edge is judged too: the image is at fault only if it fails on its own port.
            var own = RolloutSteps.Address(slot.Run.Container.PublishedPort(slots.Container.GrpcPort));
            var itself = own is null || !await probe.IsServingAsync(own, RolloutSteps.ProbeTimeout, ct).ConfigureAwait(false)
                || await docker.InspectAsync(slots.Name(slot.Candidate), ct).ConfigureAwait(false) is not { State.Running: true, State.RestartCount: var restarts }
                || restarts != slot.Run.Container.State.RestartCount;
            throw new RolloutStepException($"health gate failed: {verdict.Reason}", imageAtFault: itself);
        }
    }

    /// <summary>The candidate is watched on its own port for <c>BakeTime</c> while the old slot still runs.</summary>
    private async Task BakeAsync(SlotRun slot, CancellationToken ct)
    {
        var name = slots.Name(slot.Candidate);
        var now = await docker.InspectAsync(name, ct).ConfigureAwait(false) ?? throw new RolloutStepException($"'{name}' disappeared before the bake", imageAtFault: true);
        var address = RolloutSteps.Address(now.PublishedPort(slots.Container.GrpcPort))
            ?? throw new RolloutStepException($"'{name}' publishes no gRPC port before the bake: it is not running", imageAtFault: true);
        await steps.BakeAsync(name, address, now.State.RestartCount, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The edge's own word first: the candidate ready and UP in every backend, and the file naming it. Then the old
    /// slot drains to maintenance and its container goes.
    /// </summary>
    private async Task RetireOldAsync(SlotRun slot, CancellationToken ct)
    {
        await slots.RequireServingAsync(slot.Candidate, ct).ConfigureAwait(false);
        await slots.RetireOtherAsync(slot.Candidate, ct).ConfigureAwait(false);
        await slots.RemoveAsync(slot.Old, ct).ConfigureAwait(false);
    }

    private async Task CommitAsync(RolloutRun run, EdgeSlot candidate, CancellationToken ct)
    {
        await slots.RequireServingAsync(candidate, ct).ConfigureAwait(false);
        await steps.CommitAsync(run, slots.Names, ct).ConfigureAwait(false);
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
                await slots.RemoveAsync(slot.Candidate, ct).ConfigureAwait(false);
                state.EndRollout();
            }
            else if (slot.Phase == SlotPhases.Retire && !(imageAtFault && await slots.RunsAsync(slot.Old, ct).ConfigureAwait(false)))
            {
                // The candidate passed its gate and bake; the old slot may be stopped already. It stays live, and the
                // state file still says "retire", so reconciliation finishes the retire and the commit.
                Log.RetireIncomplete(logger, slot.Run.Id, failure.Message, slots.Name(slot.Candidate));
                detail = $"{failure.Message}; slot {slot.Candidate.ServerName()} stays live and reconciliation finishes the retire";
            }
            else if (await slots.RunsAsync(slot.Old, ct).ConfigureAwait(false))
            {
                await SwitchBackAsync(slot.Run, slot.Candidate, slot.Old, ct).ConfigureAwait(false);
                state.EndRollout();
                outcome = RolloutOutcome.RolledBack;
            }
            else
            {
                // Nothing to go back to (a first rollout, or the old slot died): the candidate is all there is.
                Log.NothingToRestore(logger, slot.Run.Id, slots.Name(slot.Old));
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

    /// <summary>Sends new calls back to <paramref name="old"/>, drains <paramref name="candidate"/> and removes it.</summary>
    private async Task SwitchBackAsync(RolloutRun run, EdgeSlot candidate, EdgeSlot old, CancellationToken ct) =>
        await steps.StepAsync(run, "switch back", async (_, c) =>
        {
            await slots.SwitchAsync(old, c).ConfigureAwait(false);
            await slots.RetireOtherAsync(old, c).ConfigureAwait(false);
            await slots.RemoveAsync(candidate, c).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);

    /// <summary>One rollout and the two slots it moves between.</summary>
    private sealed record SlotRun(RolloutRun Run, EdgeSlot Candidate, EdgeSlot Old)
    {
        /// <summary>The phase last written to the state file for this rollout, or null before the first.</summary>
        public string? Phase { get; set; }
    }
}
