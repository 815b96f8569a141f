using System.Net;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StudentPerformance.Predictor.Hosting;
using StudentPerformance.Predictor.Http;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>
/// The real predictor, composed exactly as Program.cs composes it, on loopback: the h2c gRPC endpoint and the
/// HTTP/1.1 front door on free ports, configured through the same Kestrel keys as appsettings.json.
/// </summary>
public sealed class FrontDoorServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FrontDoorServer(WebApplication app, int grpcPort, int httpPort, int? tlsPort)
    {
        _app = app;
        GrpcAddress = new Uri($"http://127.0.0.1:{grpcPort}");
        HttpAddress = new Uri($"http://127.0.0.1:{httpPort}");
        TlsAddress = tlsPort is { } port ? new Uri($"https://127.0.0.1:{port}") : null;
        Http = new HttpClient { BaseAddress = HttpAddress };
        Grpc = GrpcChannel.ForAddress(GrpcAddress);
    }

    /// <summary>The h2c gRPC endpoint (8000 in production).</summary>
    public Uri GrpcAddress { get; }

    /// <summary>The HTTP/1.1 front door (8080 in production).</summary>
    public Uri HttpAddress { get; }

    /// <summary>The TLS endpoint, when the test configured a certificate.</summary>
    public Uri? TlsAddress { get; }

    /// <summary>A client of the front door (HTTP/1.1).</summary>
    public HttpClient Http { get; }

    /// <summary>A gRPC channel to the h2c endpoint.</summary>
    public GrpcChannel Grpc { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts the server. <paramref name="settings"/> adds or overrides configuration keys; "{tls}" in a value
    /// is replaced by a free port for the TLS endpoint. <paramref name="services"/> runs before the predictor
    /// registers its defaults, so a test may replace one of them.
    /// </summary>
    public static async Task<FrontDoorServer> StartAsync(
        string modelPath,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null,
        bool waitUntilReady = true)
    {
        int grpcPort = FreePort(), httpPort = FreePort();
        int? tlsPort = null;
        var config = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Grpc:Url"] = $"http://127.0.0.1:{grpcPort}",
            ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
            ["Kestrel:Endpoints:Http:Url"] = $"http://127.0.0.1:{httpPort}",
            ["Kestrel:Endpoints:Http:Protocols"] = "Http1",
            ["Predictor:ModelPath"] = modelPath,
            ["Predictor:DrainTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            if (value == "{tls}")
            {
                tlsPort = FreePort();
                config[key] = tlsPort.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            else
            {
                config[key] = value;
            }
        }

        // A content root of its own: the predictor's appsettings.json (ports 8000 and 8080) stays out of tests.
        var contentRoot = Path.GetDirectoryName(modelPath)!;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = contentRoot,
            EnvironmentName = "Production",
        });
        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        services?.Invoke(builder.Services);
        builder.AddPredictor();
        builder.AddFrontDoor();

        var app = builder.Build();
        app.MapPredictor();
        app.MapFrontDoor();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var server = new FrontDoorServer(app, grpcPort, httpPort, tlsPort);
        if (waitUntilReady)
        {
            await server.WaitUntilReadyAsync();
        }

        return server;
    }

    /// <summary>Polls /readyz until the model is served (the model loads after the server starts listening).</summary>
    public async Task WaitUntilReadyAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            using var response = await Http.GetAsync(new Uri("/readyz", UriKind.Relative), timeout.Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Grpc.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    internal static int FreePort() => StudentPerformance.TestSupport.TestPorts.Free();
}
