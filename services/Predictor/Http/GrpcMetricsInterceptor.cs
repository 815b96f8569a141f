using Grpc.Core;
using Grpc.Core.Interceptors;

namespace StudentPerformance.Predictor.Http;

/// <summary>
/// Counts every gRPC call (native or transcoded from REST) by method and status and times it. The outermost
/// interceptor, so a status set by any inner one is the status counted. A unary call that completes
/// synchronously is recorded without an extra task or state machine.
/// </summary>
internal sealed class GrpcMetricsInterceptor(GrpcServerMetrics metrics, TimeProvider time) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        var series = metrics.For(context.Method);
        var started = time.GetTimestamp();
        series.InFlight.Inc();
        Task<TResponse> task;
        try
        {
            task = continuation(request, context);
        }
        catch (Exception error)
        {
            Finish(series, started, StatusOf(error, context));
            throw;
        }

        if (task.IsCompletedSuccessfully)
        {
            Finish(series, started, context.Status.StatusCode);
            return task;
        }

        return AwaitUnary(task, series, started, context);
    }

    // Streaming calls (Health/Watch, reflection) are rare, so they share one measuring path; a closure per call
    // is fine there. Unary calls above keep their allocation-free path.
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return ObserveAsync(context, async () =>
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
            return true;
        });
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return ObserveAsync(context, () => continuation(requestStream, context));
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return ObserveAsync(context, async () =>
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
            return true;
        });
    }

    private async Task<T> ObserveAsync<T>(ServerCallContext context, Func<Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(context);
        var series = metrics.For(context.Method);
        var started = time.GetTimestamp();
        series.InFlight.Inc();
        T result;
        try
        {
            result = await call().ConfigureAwait(false);
        }
        catch (Exception error)
        {
            Finish(series, started, StatusOf(error, context));
            throw;
        }

        Finish(series, started, context.Status.StatusCode);
        return result;
    }

    private async Task<TResponse> AwaitUnary<TResponse>(
        Task<TResponse> task,
        GrpcServerMetrics.MethodSeries series,
        long started,
        ServerCallContext context)
    {
        TResponse response;
        try
        {
            response = await task.ConfigureAwait(false);
        }
        catch (Exception error)
        {
            Finish(series, started, StatusOf(error, context));
            throw;
        }

        Finish(series, started, context.Status.StatusCode);
        return response;
    }

    private void Finish(GrpcServerMetrics.MethodSeries series, long started, StatusCode code)
    {
        series.InFlight.Dec();
        series.Record(code, time.GetElapsedTime(started).TotalSeconds);
    }

    // The status the framework will send for this exception: RpcException carries its own; a cancelled call is
    // CANCELLED or DEADLINE_EXCEEDED; anything else becomes UNKNOWN.
    private StatusCode StatusOf(Exception error, ServerCallContext context) => error switch
    {
        RpcException rpc => rpc.StatusCode,
        OperationCanceledException when context.CancellationToken.IsCancellationRequested =>
            context.Deadline <= time.GetUtcNow().UtcDateTime ? StatusCode.DeadlineExceeded : StatusCode.Cancelled,
        _ => StatusCode.Unknown,
    };
}
