using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using StudentPerformance.Deployer.Edge;

namespace Deployer.Tests.Edge;

/// <summary>
/// A slot behind the edge: real Kestrel on two loopback ports, like the predictor's. The h2c port answers
/// grpc.health.v1 Health/Check with SERVING and an <c>x-slot</c> header naming the slot; the HTTP/1.1 port serves
/// <c>/readyz</c> (200 while <see cref="Ready"/>), <c>/slot</c> and <c>/slow</c>, which answers only when released.
/// </summary>
public sealed class SlotServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _slowInFlight;

    private SlotServer(WebApplication app, EdgeSlot slot, int grpcPort, int httpPort)
    {
        _app = app;
        Slot = slot;
        GrpcPort = grpcPort;
        HttpPort = httpPort;
    }

    public EdgeSlot Slot { get; }

    public int GrpcPort { get; }

    public int HttpPort { get; }

    private volatile bool _ready = true;

    /// <summary>What <c>/readyz</c> says: 200 while true, 503 otherwise.</summary>
    public bool Ready
    {
        get => _ready;
        set => _ready = value;
    }

    /// <summary>Requests to <c>/slow</c> that have arrived and wait for <see cref="ReleaseSlow"/>.</summary>
    public int SlowInFlight => Volatile.Read(ref _slowInFlight);

    private int _disposed;

    public static async Task<SlotServer> StartAsync(EdgeSlot slot, int grpcPort, int httpPort)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, grpcPort, o => o.Protocols = HttpProtocols.Http2);
            k.Listen(IPAddress.Loopback, httpPort, o => o.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        var server = new SlotServer(app, slot, grpcPort, httpPort);
        var name = slot.ServerName();
        app.MapPost("/grpc.health.v1.Health/Check", async context =>
        {
            // The whole request first, as a gRPC server's unary call does (grpc-dotnet runs the handler once it has read
            // the request). Answering before the request's DATA frame has come makes Kestrel reset the stream with
            // NO_ERROR after its answer, and HAProxy 2.6 takes that reset as the server's abort while it still forwards
            // the request body: it drops the answer and resets the client's stream with CANCEL. That was the edge
            // tests' lost call (docs/edge.md, "Fixed: a call cut on a starved host"): with the body 5 ms late,
            // bench/scripts/edge-early-answer.sh saw 197 to 199 of 200 calls cut when the slot answered early, none
            // when it read first.
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["x-slot"] = name;
            // One uncompressed message: HealthCheckResponse { status: SERVING } is field 1, varint 1.
            await context.Response.Body.WriteAsync(new byte[] { 0, 0, 0, 0, 2, 0x08, 0x01 });
            context.Response.AppendTrailer("grpc-status", "0");
        });
        app.MapGet("/readyz", () => server.Ready ? Results.Text("SERVING") : Results.StatusCode(503));
        app.MapGet("/slot", () => Results.Text(name));
        app.MapGet("/slow", async () =>
        {
            Interlocked.Increment(ref server._slowInFlight);
            try
            {
                await server._release.Task;
                return Results.Text(name);
            }
            finally
            {
                Interlocked.Decrement(ref server._slowInFlight);
            }
        });
        await app.StartAsync();
        return server;
    }

    public void ReleaseSlow()
    {
        var previous = Interlocked.Exchange(ref _release, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }

    /// <summary>Stops the slot (a test may stop it early, the rig again at the end).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _release.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
