using System.Threading.Channels;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Fleet;
using StudentPerformance.Deployer.Registry;

namespace StudentPerformance.Deployer.Rollout;

public enum DeployerCommand
{
    CheckNow,
    Rollback,
}

/// <summary>
/// The loop: reconcile, ask the registry, decide, roll out; then sleep until the next poll or an admin command.
/// Everything runs on this one loop, so there is never more than one rollout.
/// </summary>
internal sealed class DeployerWorker(
    IRolloutStrategy plan,
    RolloutSteps steps,
    LiveWatch watch,
    IImageRegistry registry,
    IFleetGate fleet,
    IOptions<DeployerOptions> options,
    IOptions<ContainerSpecOptions> container,
    IOptions<ImageOptions> image,
    StateStore state,
    DeployerStatus status,
    DeployerMetrics metrics,
    TimeProvider time,
    ILogger<DeployerWorker> logger) : BackgroundService
{
    private readonly Channel<DeployerCommand> _commands = Channel.CreateBounded<DeployerCommand>(
        new BoundedChannelOptions(8) { FullMode = BoundedChannelFullMode.Wait });

    private readonly DeployerOptions _options = options.Value;
    private readonly string _containerName = container.Value.Name;

    /// <summary>Queues an admin command; the loop picks it up at once. False when the queue is full (the API answers 503).</summary>
    public bool Enqueue(DeployerCommand command) => _commands.Writer.TryWrite(command);

    /// <summary>Why <paramref name="command"/> must not run now (<c>Monitor</c> mode, or paused), or null.</summary>
    public string? Refusal(DeployerCommand command) => command != DeployerCommand.Rollback ? null
        : _options.Mode == DeployerMode.Monitor ? "Deployer:Mode is Monitor: a dry run rolls nothing back"
        : status.Paused ? "the deployer is paused: POST /resume first"
        : null;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // POST /pause survives a restart: set before the admin API can be asked.
        status.Update(s => s with { Paused = state.Current.Paused });
        metrics.Paused.Set(state.Current.Paused ? 1 : 0);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.WorkerStarted(logger, registry.ImageName, image.Value.Tag, _containerName, _options.Mode.ToString(), _options.PollInterval);
        var command = DeployerCommand.CheckNow;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await TickAsync(command, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The loop must outlive anything one tick can throw; the next tick starts from reconciliation.
                Log.TickFailed(logger, ex);
                status.Update(s => s with { LastError = ex.Message });
            }

            command = await NextCommandAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task TickAsync(DeployerCommand command, CancellationToken ct)
    {
        await watch.WatchDiskAsync(ct).ConfigureAwait(false);
        ContainerInfo? current;
        try
        {
            if (_options.Mode == DeployerMode.Deploy)
            {
                await plan.RepairAsync(ct).ConfigureAwait(false);
            }

            current = await plan.LiveAsync(ct).ConfigureAwait(false);
            await watch.WatchCrashLoopAsync(current, registry.ImageName, ct).ConfigureAwait(false);
        }
        catch (ContainerRuntimeException ex)
        {
            metrics.DockerErrors.Inc();
            Log.DockerUnavailable(logger, ex.Message);
            status.Update(s => s with { LastError = $"docker: {ex.Message}" });
            return;
        }

        if (command == DeployerCommand.Rollback && Refusal(command) is { } refused)
        {
            // Checked again here: the mode or the pause may have changed while the command waited.
            Log.CommandRefused(logger, "roll back", refused);
            command = DeployerCommand.CheckNow;
        }

        if (command == DeployerCommand.Rollback)
        {
            var running = Decisions.RunningDigest(current, registry.ImageName, null);
            status.Update(s => s with { ActiveRolloutId = "rollback" });
            try
            {
                if (steps.OperatorRollbackTarget(running) is { } target)
                {
                    await plan.DeployAsync(target, RolloutKinds.Rollback, ct).ConfigureAwait(false);
                    if (running is not null)
                    {
                        await fleet.RecordRollbackAsync(registry.ImageName, running, ct).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                status.Update(s => s with { ActiveRolloutId = null });
            }

            current = await plan.LiveAsync(ct).ConfigureAwait(false);
            await PublishAsync(current, registryDigest: status.Snapshot.RegistryDigest, ct).ConfigureAwait(false);
            return;
        }

        string? digest;
        try
        {
            digest = await registry.ResolveDigestAsync(image.Value.Tag, ct).ConfigureAwait(false);
            metrics.Checks.WithLabels(digest is null ? "no-tag" : "ok").Inc();
            metrics.RegistryFailuresInARow.Set(0);
            metrics.LastSuccessfulCheck.Set(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
        }
        catch (Exception ex) when (ex is RegistryException or HttpRequestException or Polly.CircuitBreaker.BrokenCircuitException or Polly.Timeout.TimeoutRejectedException)
        {
            metrics.Checks.WithLabels("error").Inc();
            metrics.RegistryErrors.Inc();
            metrics.RegistryFailuresInARow.Inc();
            Log.RegistryCheckFailed(logger, ex.Message);
            status.Update(s => s with { LastCheck = time.GetUtcNow(), LastCheckResult = "registry error", LastError = $"registry: {ex.Message}" });
            await PublishAsync(current, registryDigest: status.Snapshot.RegistryDigest, ct).ConfigureAwait(false);
            return;
        }

        // A quarantine ends when the tag moves to another digest.
        state.Update(s => s with { Quarantined = Decisions.StillQuarantined(s.Quarantined, digest) });
        var decision = Decisions.Rollout(
            digest,
            current,
            registry.ImageName,
            [.. state.Current.Quarantined.Select(q => q.Digest)],
            status.Paused,
            _options.Mode);
        status.Update(s => s with { LastCheck = time.GetUtcNow(), LastCheckResult = decision.Action.ToString(), RegistryDigest = digest, LastError = null });
        await PublishAsync(current, digest, ct).ConfigureAwait(false);
        Log.Checked(logger, registry.ImageName, image.Value.Tag, digest, decision.Action.ToString());

        switch (decision.Action)
        {
            case RolloutAction.Adopt:
                Log.Adopted(logger, _containerName, decision.Digest!);
                break;

            case RolloutAction.WouldDeploy:
                Log.WouldDeploy(logger, decision.Digest!, Decisions.RunningDigest(current, registry.ImageName, digest) ?? "nothing");
                break;

            case RolloutAction.Deploy:
                Log.NewDigest(logger, registry.ImageName, image.Value.Tag, decision.Digest!, decision.Action.ToString());

                // The fleet (docs/fleet.md) may hold the digest back for its canary, refuse it fleet-wide, or send a
                // host that runs nothing to the last baked digest instead.
                var clearance = await fleet.ClearAsync(registry.ImageName, decision.Digest!, Decisions.RunningDigest(current, registry.ImageName, digest), ct).ConfigureAwait(false);
                FollowFleet(decision.Digest!, clearance);
                if (!clearance.RollOut)
                {
                    break;
                }

                var previousRecord = state.Current.LastRollout?.Id;
                status.Update(s => s with { ActiveRolloutId = "deploy" });
                try
                {
                    await plan.DeployAsync(clearance.Digest!, RolloutKinds.Deploy, ct).ConfigureAwait(false);
                }
                finally
                {
                    status.Update(s => s with { ActiveRolloutId = null });
                }

                if (state.Current.LastRollout is { } record && record.Id != previousRecord)
                {
                    await fleet.ReportAsync(registry.ImageName, new FleetReport(record.Digest, record.Id, record.Outcome == RolloutOutcome.Succeeded, record.Detail), ct).ConfigureAwait(false);
                }

                watch.NewLiveContainer();
                await PublishAsync(await plan.LiveAsync(ct).ConfigureAwait(false), digest, ct).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>A fleet-wide refusal quarantines the digest here too; the fleet's answer shows in /status.</summary>
    private void FollowFleet(string digest, FleetClearance clearance)
    {
        if (clearance.Go != FleetGo.Alone)
        {
            status.Update(s => s with { LastCheckResult = $"{RolloutAction.Deploy}: fleet {clearance.Go} ({clearance.Detail})" });
        }

        if (clearance.RefusedReason is { } reason)
        {
            state.Update(s => s.Quarantined.Any(q => q.Digest == digest)
                ? s
                : s with { Quarantined = [.. s.Quarantined, new QuarantineEntry(digest, $"fleet: {reason}", time.GetUtcNow(), "fleet")] });
        }
    }

    private async Task PublishAsync(ContainerInfo? current, string? registryDigest, CancellationToken ct)
    {
        // Describing the strategy also refreshes its gauges (the edge's reachability).
        _ = await plan.DescribeAsync(ct).ConfigureAwait(false);

        // An adopted container keeps what it was started with until the next rollout replaces it.
        var differences = current?.Hardening is { } actual ? ContainerSpecFactory.Hardening(container.Value).Differences(actual) : null;
        if (differences is not null)
        {
            metrics.LiveHardened.Set(differences.Count == 0 ? 1 : 0);
        }

        status.Update(s => s with
        {
            RunningContainer = current is null ? null : $"{current.Name} ({current.State.Status})",
            RunningDigest = Decisions.RunningDigest(current, registry.ImageName, registryDigest),
            LiveHardened = differences is null ? null : differences.Count == 0,
            LiveHardeningDifferences = differences ?? [],
        });
    }

    private async Task<DeployerCommand> NextCommandAsync(CancellationToken ct)
    {
        var delay = Decisions.NextPoll(_options.PollInterval, _options.PollJitter, Random.Shared.NextDouble());
        using var timer = new CancellationTokenSource(delay, time);
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
        try
        {
            return await _commands.Reader.ReadAsync(wake.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return DeployerCommand.CheckNow;
        }
    }
}
