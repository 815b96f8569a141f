using Grpc.Core;
using StudentPerformance.Predictor.Http;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>The metrics interceptor on its own: what it counts, and that counting costs no allocation.</summary>
public sealed class GrpcMetricsInterceptorTests
{
    private const string Predict = "/studentperformance.v1.Predictor/Predict";

    private readonly GrpcServerMetrics _metrics = new();
    private readonly GrpcMetricsInterceptor _interceptor;
    private readonly PredictRequest _request = new();

    public GrpcMetricsInterceptorTests() => _interceptor = new GrpcMetricsInterceptor(_metrics, TimeProvider.System);

    [Fact]
    public async Task UnaryServerHandler_SynchronousSuccess_AllocatesNothingOnceWarm()
    {
        var context = new CallContext(Predict);
        var answer = Task.FromResult(new PredictResponse());
        UnaryServerMethod<PredictRequest, PredictResponse> handler = (_, _) => answer;
        await _interceptor.UnaryServerHandler(_request, context, handler);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            _ = _interceptor.UnaryServerHandler(_request, context, handler);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(1001, await CountAsync("Predict", "OK"));
    }

    [Fact]
    public async Task UnaryServerHandler_RpcExceptionAfterAwait_CountedUnderItsCodeAndNotInFlight()
    {
        var context = new CallContext(Predict);
        UnaryServerMethod<PredictRequest, PredictResponse> handler = async (_, _) =>
        {
            await Task.Yield();
            throw new RpcException(new Status(StatusCode.InvalidArgument, "student.gender: unknown"));
        };

        var error = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler(_request, context, handler));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(1, await CountAsync("Predict", "InvalidArgument"));
        Assert.Equal(0, await CountAsync("Predict", "OK"));
        Assert.Contains(
            "grpc_server_in_flight_requests{grpc_service=\"studentperformance.v1.Predictor\",grpc_method=\"Predict\"} 0",
            await ScrapeAsync(),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnaryServerHandler_StatusSetWithoutThrowing_CountedUnderThatStatus()
    {
        var context = new CallContext(Predict);
        UnaryServerMethod<PredictRequest, PredictResponse> handler = (_, ctx) =>
        {
            ctx.Status = new Status(StatusCode.Unavailable, "model loading");
            return Task.FromResult(new PredictResponse());
        };

        await _interceptor.UnaryServerHandler(_request, context, handler);

        Assert.Equal(1, await CountAsync("Predict", "Unavailable"));
    }

    [Fact]
    public async Task ServerStreamingServerHandler_EndsWithRpcException_CountedUnderItsCode()
    {
        const string watch = "/grpc.health.v1.Health/Watch";
        var context = new CallContext(watch);
        ServerStreamingServerMethod<PredictRequest, PredictResponse> handler = async (_, _, _) =>
        {
            await Task.Yield();
            throw new RpcException(new Status(StatusCode.Cancelled, "client went away"));
        };

        await Assert.ThrowsAsync<RpcException>(() => _interceptor.ServerStreamingServerHandler(_request, null!, context, handler));
        await _interceptor.ServerStreamingServerHandler<PredictRequest, PredictResponse>(_request, null!, context, (_, _, _) => Task.CompletedTask);

        var text = await ScrapeAsync();
        Assert.Contains("grpc_method=\"Watch\",grpc_code=\"Cancelled\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("grpc_method=\"Watch\",grpc_code=\"OK\"} 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetModel_NewVersion_ReplacesTheOldSeries()
    {
        _metrics.SetModel("aaaaaaaaaaaaaaaa", "Sdca");
        _metrics.SetModel("bbbbbbbbbbbbbbbb", "Sdca");

        var text = await ScrapeAsync();

        Assert.DoesNotContain("aaaaaaaaaaaaaaaa", text, StringComparison.Ordinal);
        Assert.Contains("predictor_model_info{version=\"bbbbbbbbbbbbbbbb\",algorithm=\"Sdca\"} 1", text, StringComparison.Ordinal);
    }

    private async Task<double> CountAsync(string method, string code)
    {
        var prefix = $"grpc_server_handled_total{{grpc_service=\"studentperformance.v1.Predictor\",grpc_method=\"{method}\",grpc_code=\"{code}\"}} ";
        var line = (await ScrapeAsync()).Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<string> ScrapeAsync()
    {
        using var stream = new MemoryStream();
        await _metrics.Registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The least a server call context needs to be: a method name and a settable status.</summary>
    private sealed class CallContext(string method) : ServerCallContext
    {
        private readonly Metadata _trailers = [];
        private readonly Dictionary<object, object> _state = [];

        protected override string MethodCore => method;

        protected override string HostCore => "localhost";

        protected override string PeerCore => "ipv4:127.0.0.1:1";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore => [];

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore => _trailers;

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore => new(null, []);

        protected override IDictionary<object, object> UserStateCore => _state;

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
