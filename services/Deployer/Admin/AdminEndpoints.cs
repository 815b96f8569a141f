using Prometheus;
using StudentPerformance.Deployer.Fleet;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.Deployer.Registry;
using StudentPerformance.Deployer.Rollout;

namespace StudentPerformance.Deployer.Admin;

/// <summary>The loopback admin API: status, metrics, and the few commands an operator needs.</summary>
public static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapDeployerAdmin(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGet("/healthz", () => Results.Text("ok"));
        endpoints.MapGet("/status", GetStatus);
        endpoints.MapMetrics("/metrics", endpoints.ServiceProvider.GetRequiredService<DeployerMetrics>().Registry);
        endpoints.MapPost("/deploy", (DeployerWorker worker, ILogger<DeployerWorker> logger) => Command(worker, logger, DeployerCommand.CheckNow, "check now"));
        endpoints.MapPost("/rollback", (DeployerWorker worker, ILogger<DeployerWorker> logger) => Command(worker, logger, DeployerCommand.Rollback, "roll back"));
        endpoints.MapPost("/pause", (DeployerStatus status, DeployerMetrics metrics, ILogger<DeployerWorker> logger) => SetPaused(status, metrics, logger, paused: true));
        endpoints.MapPost("/resume", (DeployerStatus status, DeployerMetrics metrics, ILogger<DeployerWorker> logger) => SetPaused(status, metrics, logger, paused: false));
        return endpoints;
    }

    private static async Task<IResult> GetStatus(DeployerStatus status, StateStore state, QualityGateHistory quality, IRolloutStrategy strategy, IFleetGate fleet, IImageRegistry registry, CancellationToken cancellationToken)
    {
        var snapshot = status.Snapshot;
        var persisted = state.Current;
        // Read now, not at the last tick: a rollout holds the loop, and its phase is what an operator asks about.
        var slots = await strategy.DescribeAsync(cancellationToken).ConfigureAwait(false);
        var fleetView = await fleet.DescribeAsync(registry.ImageName, snapshot.RegistryDigest, cancellationToken).ConfigureAwait(false);
        return Results.Json(new
        {
            trackedImage = snapshot.TrackedImage,
            mode = snapshot.Mode,
            paused = snapshot.Paused,
            runningContainer = snapshot.RunningContainer,
            runningDigest = snapshot.RunningDigest,
            registryDigest = snapshot.RegistryDigest,
            lastCheck = snapshot.LastCheck,
            lastCheckResult = snapshot.LastCheckResult,
            lastError = snapshot.LastError,
            rolloutInProgress = snapshot.ActiveRolloutId is not null,
            liveContainerHardened = snapshot.LiveHardened,
            liveContainerHardeningDifferences = snapshot.LiveHardeningDifferences,
            dockerDataRoot = new { freeBytes = snapshot.DiskFreeBytes, low = snapshot.DiskLow, checkedAt = snapshot.DiskCheckedAt },
            lastRollout = persisted.LastRollout,
            quarantined = persisted.Quarantined,
            goodDigests = persisted.GoodDigests,
            qualityGate = quality.Last,
            strategy = slots.Strategy,
            liveSlot = slots.LiveSlot,
            candidateSlot = slots.CandidateSlot,
            rolloutPhase = slots.RolloutPhase,
            edge = slots.Edge,
            crashLoop = snapshot.CrashLoop,
            fleet = fleetView,
        });
    }

    private static IResult Command(DeployerWorker worker, ILogger logger, DeployerCommand command, string what)
    {
        Log.AdminCommand(logger, what);
        return worker.Enqueue(command)
            ? Results.Accepted("/status", new { accepted = what })
            : Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult SetPaused(DeployerStatus status, DeployerMetrics metrics, ILogger logger, bool paused)
    {
        Log.AdminCommand(logger, paused ? "pause" : "resume");
        status.Update(s => s with { Paused = paused });
        metrics.Paused.Set(paused ? 1 : 0);
        return Results.Ok(new { paused });
    }
}
