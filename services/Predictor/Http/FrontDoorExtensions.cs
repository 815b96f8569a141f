using Google.Rpc;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Prometheus;
using StudentPerformance.Predictor.Grpc;
using TypeRegistry = Google.Protobuf.Reflection.TypeRegistry;

namespace StudentPerformance.Predictor.Http;

/// <summary>
/// The front door beside the h2c gRPC port: REST/JSON (gRPC JSON transcoding), the browser form at <c>/</c>,
/// <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c> on the HTTP/1.1 endpoint (8080), and the optional TLS
/// endpoint that serves gRPC and HTTPS together.
/// </summary>
public static class FrontDoorExtensions
{
    public static WebApplicationBuilder AddFrontDoor(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddOptions<FrontDoorOptions>()
            .BindConfiguration(FrontDoorOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GrpcServerMetrics>();
        // A singleton, so the per-call interceptor activation allocates nothing.
        services.TryAddSingleton<GrpcMetricsInterceptor>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<MatcherPolicy, PlainHttpOnlyPolicy>());

        services.AddGrpc(options =>
            {
                // Outermost, so it sees the final status of every call, whatever the other interceptors do.
                options.Interceptors.Add<GrpcMetricsInterceptor>();
                var registration = options.Interceptors[^1];
                options.Interceptors.RemoveAt(options.Interceptors.Count - 1);
                options.Interceptors.Insert(0, registration);
            })
            .AddJsonTranscoding(options =>
                // google.rpc.BadRequest (and the other error details) inside a 400 body are written as JSON
                // only if the transcoder can resolve their type.
                options.TypeRegistry = TypeRegistry.FromFiles(ErrorDetailsReflection.Descriptor));

        services.AddOptions<KestrelServerOptions>()
            .Configure<IConfiguration, ILoggerFactory>((kestrel, configuration, loggers) =>
            {
                TlsEndpoint.AddTo(kestrel, configuration, loggers.CreateLogger(typeof(FrontDoorExtensions).FullName!));
                AdminEndpoint.AddTo(kestrel);
            });

        return builder;
    }

    public static WebApplication MapFrontDoor(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        WebPage.LoadEmbedded().Map(app);
        AdminEndpoint.Map(app);

        var metrics = app.Services.GetRequiredService<GrpcServerMetrics>();
        var serving = app.Services.GetRequiredService<ServingState>();
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            var model = serving.Model;
            metrics.SetModel(model?.Version, model?.Bundle.Metadata.Algorithm);
        });
        app.MapMetrics("/metrics", metrics.Registry).WithMetadata(FrontDoorRouteMetadata.Instance);

        // Liveness: the process answers HTTP. Readiness: the ServingState that gRPC health reports, read
        // directly, so the two cannot disagree.
        app.MapGet("/healthz", () => Results.Text("ok\n"))
            .WithMetadata(FrontDoorRouteMetadata.Instance);
        app.MapGet("/readyz", () => serving.IsServing
                ? Results.Text("SERVING\n")
                : Results.Text("NOT_SERVING\n", statusCode: StatusCodes.Status503ServiceUnavailable))
            .WithMetadata(FrontDoorRouteMetadata.Instance);

        return app;
    }
}
