using Prometheus;
using StudentPerformance.Deployer.Rollout;

namespace StudentPerformance.Deployer.Admin;

/// <summary>
/// The loopback admin API: the dashboard, status, metrics, and the few commands an operator needs. Every command needs the bearer
/// token; <c>/status</c> and <c>/metrics</c> too unless <c>Deployer:Admin:OpenStatus</c>; <c>/healthz</c> (it only
/// says "ok") never does, nor do the
/// dashboard's static files (they hold no data: the page asks for the token and reads <c>/status</c> with it). The Host and Origin rules (<see cref="AdminAccess.UseAdminRequestGuard"/>) cover them all.
/// </summary>
public static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapDeployerAdmin(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var metrics = services.GetRequiredService<DeployerMetrics>();
        var stateStore = services.GetRequiredService<StateStore>();
        var deployerStatus = services.GetRequiredService<DeployerStatus>();
        metrics.ObserveAtScrape(() => stateStore.Current.Quarantined.Count, () => deployerStatus.Snapshot.ActiveRolloutId is not null);
        endpoints.MapGet("/healthz", () => Results.Text("ok"));
        endpoints.MapGet("/status", GetStatus).RequireAdminTokenUnlessOpenStatus(services);
        endpoints.MapMetrics("/metrics", metrics.Registry).RequireAdminTokenUnlessOpenStatus(services);
        DashboardPage.LoadEmbedded().Map(endpoints);
        var commands = endpoints.MapGroup("").RequireAdminToken();
        commands.MapPost("/deploy", (DeployerWorker worker, ILogger<DeployerWorker> logger) => Command(worker, logger, DeployerCommand.CheckNow, "check now"));
        commands.MapPost("/rollback", (DeployerWorker worker, ILogger<DeployerWorker> logger) => Command(worker, logger, DeployerCommand.Rollback, "roll back"));
        commands.MapPost("/pause", (DeployerStatus status, StateStore state, DeployerMetrics metrics, ILogger<DeployerWorker> logger) => SetPaused(status, state, metrics, logger, paused: true));
        commands.MapPost("/resume", (DeployerStatus status, StateStore state, DeployerMetrics metrics, ILogger<DeployerWorker> logger) => SetPaused(status, state, metrics, logger, paused: false));
        return endpoints;
    }

    private static async Task<IResult> GetStatus(StatusReport report, CancellationToken cancellationToken) =>
        Results.Json(await report.BuildAsync(cancellationToken).ConfigureAwait(false));

    private static IResult Command(DeployerWorker worker, ILogger logger, DeployerCommand command, string what)
    {
        Log.AdminCommand(logger, what);
        if (worker.Refusal(command) is { } refused)
        {
            return Results.Conflict(new { refused = what, reason = refused });
        }

        return worker.Enqueue(command)
            ? Results.Accepted("/status", new { accepted = what })
            : Results.Json(new { refused = what, reason = "the command queue is full; try again once /status shows no rollout in progress" }, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult SetPaused(DeployerStatus status, StateStore state, DeployerMetrics metrics, ILogger logger, bool paused)
    {
        Log.AdminCommand(logger, paused ? "pause" : "resume");
        try
        {
            // Kept in state.json: a restart does not resume rollouts an operator paused.
            state.SetPaused(paused);
        }
        catch (RolloutStepException ex)
        {
            return Results.Json(new { paused = status.Paused, reason = ex.Message }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        status.Update(s => s with { Paused = paused });
        metrics.Paused.Set(paused ? 1 : 0);
        return Results.Ok(new { paused });
    }
}
