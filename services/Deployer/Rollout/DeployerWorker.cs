using System.Threading.Channels;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
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
    RolloutPlan plan,
    IContainerRuntime docker,
    IImageRegistry registry,
    IOptions<DeployerOptions> options,
    IOptions<ContainerSpecOptions> container,
    IOptions<DiskGuardOptions> disk,
    IOptions<ImageOptions> image,
    StateStore state,
    DeployerStatus status,
    DeployerMetrics metrics,
    TimeProvider time,
    ILogger<DeployerWorker> logger) : BackgroundService
{
    private readonly Channel<DeployerCommand> _commands = Channel.CreateBounded<DeployerCommand>(
        new BoundedChannelOptions(8) { FullMode = BoundedChannelFullMode.DropOldest });

    private readonly DeployerOptions _options = options.Value;
    private readonly string _containerName = container.Value.Name;

    /// <summary>Queues an admin command; the loop picks it up at once.</summary>
    public bool Enqueue(DeployerCommand command) => _commands.Writer.TryWrite(command);

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
        await WatchDiskAsync(ct).ConfigureAwait(false);
        ContainerInfo? current;
        try
        {
            if (_options.Mode == DeployerMode.Deploy)
            {
                await plan.RepairAsync(ct).ConfigureAwait(false);
            }

            current = await docker.InspectAsync(_containerName, ct).ConfigureAwait(false);
        }
        catch (ContainerRuntimeException ex)
        {
            metrics.DockerErrors.Inc();
            Log.DockerUnavailable(logger, ex.Message);
            status.Update(s => s with { LastError = $"docker: {ex.Message}" });
            return;
        }

        if (command == DeployerCommand.Rollback)
        {
            var running = Decisions.RunningDigest(current, registry.ImageName, null);
            status.Update(s => s with { ActiveRolloutId = "rollback" });
            try
            {
                await plan.RollbackToPreviousAsync(running, ct).ConfigureAwait(false);
            }
            finally
            {
                status.Update(s => s with { ActiveRolloutId = null });
            }

            current = await docker.InspectAsync(_containerName, ct).ConfigureAwait(false);
            Publish(current, registryDigest: status.Snapshot.RegistryDigest);
            return;
        }

        string? digest;
        try
        {
            digest = await registry.ResolveDigestAsync(image.Value.Tag, ct).ConfigureAwait(false);
            metrics.Checks.WithLabels(digest is null ? "no-tag" : "ok").Inc();
        }
        catch (Exception ex) when (ex is RegistryException or HttpRequestException or Polly.CircuitBreaker.BrokenCircuitException or Polly.Timeout.TimeoutRejectedException)
        {
            metrics.Checks.WithLabels("error").Inc();
            metrics.RegistryErrors.Inc();
            Log.RegistryCheckFailed(logger, ex.Message);
            status.Update(s => s with { LastCheck = time.GetUtcNow(), LastCheckResult = "registry error", LastError = $"registry: {ex.Message}" });
            Publish(current, registryDigest: status.Snapshot.RegistryDigest);
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
        Publish(current, digest);
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
                status.Update(s => s with { ActiveRolloutId = "deploy" });
                try
                {
                    await plan.DeployAsync(decision.Digest!, RolloutKinds.Deploy, ct).ConfigureAwait(false);
                }
                finally
                {
                    status.Update(s => s with { ActiveRolloutId = null });
                }

                Publish(await docker.InspectAsync(_containerName, ct).ConfigureAwait(false), digest);
                break;
        }
    }

    private void Publish(ContainerInfo? current, string? registryDigest)
    {
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

    /// <summary>
    /// The disk guard between rollouts: container logs grow on Docker's data root all the time, not only when
    /// an image is pulled. Measures every tick; below <c>Deployer:Disk:MinFreeMiB</c> it warns and raises the gauge.
    /// </summary>
    private async Task WatchDiskAsync(CancellationToken ct)
    {
        long? free;
        try
        {
            free = await docker.GetFreeSpaceAsync(ct).ConfigureAwait(false);
        }
        catch (ContainerRuntimeException ex)
        {
            // The rest of the tick reports an engine outage; a bad DataRootPath is reported here.
            Log.DiskNotMeasured(logger, ex.Message);
            free = null;
        }

        var low = free is { } bytes && !DiskRule.HasRoom(bytes, disk.Value.MinFreeMiB);
        if (free is { } measured)
        {
            metrics.DiskFreeBytes.Set(measured);
        }

        metrics.DiskLow.Set(low ? 1 : 0);
        status.Update(s => s with { DiskFreeBytes = free, DiskLow = low, DiskCheckedAt = time.GetUtcNow() });
        if (low)
        {
            Log.DiskLowOnCheck(logger, free!.Value / (1024 * 1024), disk.Value.MinFreeMiB);
        }
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
