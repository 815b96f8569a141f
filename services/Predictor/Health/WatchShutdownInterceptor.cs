using Grpc.Core;
using Grpc.Core.Interceptors;

namespace StudentPerformance.Predictor.Health;

/// <summary>
/// Ends grpc.health.v1 Watch streams when shutdown begins. A Watch call otherwise runs until the client leaves,
/// so every open watcher would hold a graceful shutdown for the whole drain time. The watcher still receives
/// NOT_SERVING first: <see cref="ServingState"/> publishes it before it cancels <see cref="ServingState.Stopping"/>.
/// </summary>
public sealed class WatchShutdownInterceptor(ServingState state) : Interceptor
{
    private const string WatchMethod = "/grpc.health.v1.Health/Watch";

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request,
        IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(continuation);
        if (context.Method != WatchMethod)
        {
            await continuation(request, responseStream, context);
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, state.Stopping);
        await continuation(request, responseStream, new CancellableCallContext(context, linked.Token));
    }

    /// <summary>The same call, with a cancellation token that also fires on shutdown.</summary>
    private sealed class CancellableCallContext(ServerCallContext inner, CancellationToken token) : ServerCallContext
    {
        protected override string MethodCore => inner.Method;

        protected override string HostCore => inner.Host;

        protected override string PeerCore => inner.Peer;

        protected override DateTime DeadlineCore => inner.Deadline;

        protected override Metadata RequestHeadersCore => inner.RequestHeaders;

        protected override CancellationToken CancellationTokenCore => token;

        protected override Metadata ResponseTrailersCore => inner.ResponseTrailers;

        protected override Status StatusCore
        {
            get => inner.Status;
            set => inner.Status = value;
        }

        protected override WriteOptions? WriteOptionsCore
        {
            get => inner.WriteOptions;
            set => inner.WriteOptions = value;
        }

        protected override AuthContext AuthContextCore => inner.AuthContext;

        protected override IDictionary<object, object> UserStateCore => inner.UserState;

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            inner.CreatePropagationToken(options);

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) =>
            inner.WriteResponseHeadersAsync(responseHeaders);
    }
}
