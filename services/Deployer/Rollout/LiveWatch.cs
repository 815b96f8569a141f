using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// What the loop watches at every tick besides the registry: free space on Docker's data root (the disk guard) and
/// the live container's restarts (the crash-loop watch). Each reports to the log, its gauge and /status; a crash loop
/// also to the webhook.
/// </summary>
internal sealed class LiveWatch(
    IContainerRuntime docker,
    RolloutNotifier notifier,
    IOptions<DiskGuardOptions> disk,
    IOptions<CrashLoopOptions> crashLoop,
    DeployerStatus status,
    DeployerMetrics metrics,
    TimeProvider time,
    ILogger<LiveWatch> logger)
{
    private readonly CrashLoopWatch _crashLoop = new(crashLoop.Value.Window, crashLoop.Value.MaxRestarts, time);
    private bool _crashLoopReported;

    /// <summary>A rollout replaced (or kept) the live container: its restarts are counted afresh.</summary>
    public void NewLiveContainer() => _crashLoop.Reset();

    /// <summary>
    /// Outside a rollout (a bake watches its own container), the live container restarting
    /// <c>Deployer:CrashLoop:MaxRestarts</c> times within the window is reported once per episode: log, gauge, webhook
    /// and /status. Nothing is rolled back: the last good digest may be as broken by whatever changed.
    /// </summary>
    public async Task WatchCrashLoopAsync(ContainerInfo? live, string imageName, CancellationToken ct)
    {
        var looping = live is not null && _crashLoop.Observe(live.Id, live.State.RestartCount);
        metrics.LiveCrashLoop.Set(looping ? 1 : 0);
        if (!looping)
        {
            _crashLoopReported = false;
            status.Update(s => s with { CrashLoop = null });
            return;
        }

        var report = new CrashLoopStatus(live!.Name, _crashLoop.RecentRestarts, crashLoop.Value.Window, status.Snapshot.CrashLoop?.DetectedAt ?? time.GetUtcNow());
        status.Update(s => s with { CrashLoop = report });
        if (!_crashLoopReported)
        {
            _crashLoopReported = true;
            Log.CrashLoop(logger, live.Name, report.Restarts, report.Window);
            await notifier.PublishCrashLoopAsync(imageName, live.DeployedDigest,
                $"'{live.Name}' restarted {report.Restarts} times within Deployer:CrashLoop:Window ({report.Window})", ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The disk guard between rollouts: container logs grow on Docker's data root all the time, not only when
    /// an image is pulled. Measures every tick; below <c>Deployer:Disk:MinFreeMiB</c> it warns and raises the gauge.
    /// </summary>
    public async Task WatchDiskAsync(CancellationToken ct)
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
}
