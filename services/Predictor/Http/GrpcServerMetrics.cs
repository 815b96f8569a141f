using System.Collections.Concurrent;
using Grpc.Core;
using Prometheus;

namespace StudentPerformance.Predictor.Http;

/// <summary>
/// The predictor's Prometheus metrics, in a registry of its own (so that two servers in one test process do
/// not share counters): gRPC calls per method and status, their latency, calls in flight, the loaded model
/// and the process collectors.
/// </summary>
internal sealed class GrpcServerMetrics
{
    private static readonly string[] MethodLabels = ["grpc_service", "grpc_method"];
    private static readonly string[] CodeLabels = ["grpc_service", "grpc_method", "grpc_code"];

    // Status names indexed by StatusCode, so the hot path never formats an enum.
    private static readonly string[] CodeNames = Enumerable.Range(0, 17).Select(c => ((StatusCode)c).ToString()).ToArray();

    private readonly Counter _handled;
    private readonly Histogram _duration;
    private readonly Gauge _inFlight;
    private readonly Gauge _modelInfo;
    private readonly ConcurrentDictionary<string, MethodSeries> _methods = new(StringComparer.Ordinal);
    private Gauge.Child? _currentModel;

    public GrpcServerMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var factory = Metrics.WithCustomRegistry(Registry);
        _handled = factory.CreateCounter(
            "grpc_server_handled_total",
            "gRPC calls completed on the server, by method and status code (REST calls included: they run the same methods).",
            CodeLabels);
        _duration = factory.CreateHistogram(
            "grpc_server_handling_seconds",
            "Time from the start of a gRPC call to its status, by method and status code.",
            new HistogramConfiguration
            {
                LabelNames = CodeLabels,
                // 100 µs to about 3 s: predictions take well under a millisecond, batches and streams longer.
                Buckets = Histogram.ExponentialBuckets(0.0001, 2.5, 12),
            });
        _inFlight = factory.CreateGauge(
            "grpc_server_in_flight_requests",
            "gRPC calls started and not yet finished, by method.",
            MethodLabels);
        _modelInfo = factory.CreateGauge(
            "predictor_model_info",
            "The model answering predictions: always 1, the labels carry its version and algorithm.",
            "version",
            "algorithm");
    }

    public CollectorRegistry Registry { get; }

    /// <summary>The cached series of one method, e.g. <c>/studentperformance.v1.Predictor/Predict</c>.</summary>
    public MethodSeries For(string method) =>
        _methods.TryGetValue(method, out var series) ? series : _methods.GetOrAdd(method, m => new MethodSeries(this, m));

    /// <summary>Points the model info gauge at <paramref name="version"/>; null when no model is loaded.</summary>
    public void SetModel(string? version, string? algorithm)
    {
        var current = _currentModel;
        if (version is null)
        {
            current?.Remove();
            _currentModel = null;
            return;
        }

        var next = _modelInfo.WithLabels(version, algorithm ?? "");
        if (!ReferenceEquals(current, next))
        {
            current?.Remove();
            next.Set(1);
            _currentModel = next;
        }
    }

    /// <summary>Label children of one method, created once, so recording a call allocates nothing.</summary>
    internal sealed class MethodSeries
    {
        private readonly GrpcServerMetrics _owner;
        private readonly string _service;
        private readonly string _method;
        private readonly Counter.Child?[] _handled = new Counter.Child?[CodeNames.Length];
        private readonly Histogram.Child?[] _duration = new Histogram.Child?[CodeNames.Length];

        public MethodSeries(GrpcServerMetrics owner, string fullName)
        {
            _owner = owner;
            // "/package.Service/Method"; transcoded calls report the same name.
            var trimmed = fullName.TrimStart('/');
            var slash = trimmed.LastIndexOf('/');
            _service = slash < 0 ? "unknown" : trimmed[..slash];
            _method = slash < 0 ? trimmed : trimmed[(slash + 1)..];
            InFlight = owner._inFlight.WithLabels(_service, _method);
        }

        public Gauge.Child InFlight { get; }

        public void Record(StatusCode code, double seconds)
        {
            var index = (uint)code < (uint)CodeNames.Length ? (int)code : (int)StatusCode.Unknown;
            var handled = _handled[index] ??= _owner._handled.WithLabels(_service, _method, CodeNames[index]);
            var duration = _duration[index] ??= _owner._duration.WithLabels(_service, _method, CodeNames[index]);
            handled.Inc();
            duration.Observe(seconds);
        }
    }
}
