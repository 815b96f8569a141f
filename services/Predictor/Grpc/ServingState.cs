using Grpc.Health.V1;
using Grpc.HealthCheck;

namespace StudentPerformance.Predictor.Grpc;

/// <summary>
/// The one truth about readiness: NOT_SERVING until the model is loaded and warmed, SERVING after, and
/// NOT_SERVING again from the moment shutdown begins. gRPC health (Check and Watch), the readiness health check
/// and the prediction service all read it.
/// </summary>
public sealed class ServingState : IDisposable
{
    /// <summary>The names grpc.health.v1 answers for: the whole server and the Predictor service.</summary>
    public static readonly IReadOnlyList<string> HealthServiceNames = ["", StudentPerformance.V1.Predictor.Descriptor.FullName];

    private readonly HealthServiceImpl _health;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private volatile ServingModel? _model;

    public ServingState(HealthServiceImpl health)
    {
        _health = health;
        Publish(HealthCheckResponse.Types.ServingStatus.NotServing);
    }

    /// <summary>The model answering calls; null until loaded. Stays set while shutdown drains in-flight calls.</summary>
    public ServingModel? Model => _model;

    public bool IsServing => _model is not null && !_stopping.IsCancellationRequested;

    /// <summary>Cancelled when shutdown begins, after health has turned NOT_SERVING.</summary>
    public CancellationToken Stopping => _stopping.Token;

    internal void MarkServing(ServingModel model)
    {
        lock (_gate)
        {
            _model = model;
            if (!_stopping.IsCancellationRequested)
            {
                Publish(HealthCheckResponse.Types.ServingStatus.Serving);
            }
        }
    }

    internal void MarkStopping()
    {
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            Publish(HealthCheckResponse.Types.ServingStatus.NotServing);
            _stopping.Cancel();
        }
    }

    public void Dispose() => _stopping.Dispose();

    // Status is pushed straight into the health service at each transition, so Watch streams see it at once
    // instead of at the next health-check publisher tick.
    private void Publish(HealthCheckResponse.Types.ServingStatus status)
    {
        foreach (var name in HealthServiceNames)
        {
            _health.SetStatus(name, status);
        }
    }
}
