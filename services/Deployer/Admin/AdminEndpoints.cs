using Prometheus;
using StudentPerformance.Deployer.Rollout;

namespace StudentPerformance.Deployer.Admin;

/// <summary>The loopback admin API: the dashboard, status, metrics, and the few commands an operator needs.</summary>
public static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapDeployerAdmin(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var metrics = services.GetRequiredService<DeployerMetrics>();
        var state = services.GetRequiredService<StateStore>();
        var status = services.GetRequiredService<DeployerStatus>();
        metrics.ObserveAtScrape(() => state.Current.Quarantined.Count, () => status.Snapshot.ActiveRolloutId is not null);
        endpoints.MapGet("/healthz", () => Results.Text("ok"));
        endpoints.MapGet("/status", GetStatus);
        endpoints.MapMetrics("/metrics", metrics.Registry);
        DashboardPage.LoadEmbedded().Map(endpoints);
        endpoints.MapPost("/deploy", (DeployerWorker worker, ILogger<DeployerWorker> logger) => Command(worker, logger, DeployerCommand.CheckNow, "check now"));
        endpoints.MapPost("/rollback", (DeployerWorker worker, ILogger<DeployerWorker> logger) => Command(worker, logger, DeployerCommand.Rollback, "roll back"));
        endpoints.MapPost("/pause", (DeployerStatus status, DeployerMetrics metrics, ILogger<DeployerWorker> logger) => SetPaused(status, metrics, logger, paused: true));
        endpoints.MapPost("/resume", (DeployerStatus status, DeployerMetrics metrics, ILogger<DeployerWorker> logger) => SetPaused(status, metrics, logger, paused: false));
        return endpoints;
    }

    private static async Task<IResult> GetStatus(StatusReport report, CancellationToken cancellationToken) =>
        Results.Json(await report.BuildAsync(cancellationToken).ConfigureAwait(false));

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
