using Microsoft.Extensions.Diagnostics.HealthChecks;
using StudentPerformance.Predictor.Grpc;

namespace StudentPerformance.Predictor.Health;

/// <summary>
/// Readiness as an ASP.NET Core health check, tagged <see cref="ReadyTag"/>: gRPC health Check and any HTTP
/// readiness endpoint report the same <see cref="ServingState"/>.
/// </summary>
public sealed class ModelReadinessCheck(ServingState state) : IHealthCheck
{
    public const string Name = "model";

    /// <summary>The tag readiness endpoints filter on.</summary>
    public const string ReadyTag = "ready";

    private static readonly Task<HealthCheckResult> Ready = Task.FromResult(HealthCheckResult.Healthy("model loaded and warmed"));
    private static readonly Task<HealthCheckResult> Loading = Task.FromResult(HealthCheckResult.Unhealthy("model not loaded yet"));
    private static readonly Task<HealthCheckResult> Stopping = Task.FromResult(HealthCheckResult.Unhealthy("shutting down"));

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (state.Stopping.IsCancellationRequested)
        {
            return Stopping;
        }

        return state.Model is null ? Loading : Ready;
    }
}
