using System.Net;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace StudentPerformance.Bench.Echo;

/// <summary>Hosts <see cref="EchoPredictor"/> on a loopback, HTTP/2-only (h2c) Kestrel endpoint, like the predictor's.</summary>
internal static class EchoServer
{
    public static async Task<WebApplication> StartAsync(int port, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
            k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var health = new HealthServiceImpl();
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
        health.SetStatus("studentperformance.v1.Predictor", HealthCheckResponse.Types.ServingStatus.Serving);
        builder.Services.AddSingleton(health);
        builder.Services.AddSingleton<EchoPredictor>();

        var app = builder.Build();

        // gRPC activates services through HttpContext.RequestServices, whose first read creates a DI scope per call.
        // Everything here is a singleton, so calls get the root provider: the ceiling should carry no cost the
        // predictor can avoid (it does the same for its own calls).
        var root = app.Services;
        app.Use((context, next) =>
        {
            context.RequestServices = root;
            return next(context);
        });
        app.MapGrpcService<EchoPredictor>();
        app.MapGrpcService<HealthServiceImpl>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return app;
    }

    public static Uri Address(WebApplication app)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
    }
}
