using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Deployer.Tests.Support;

/// <summary>A webhook receiver on a loopback port: keeps every body the deployer posts to <see cref="Url"/>.</summary>
public sealed class WebhookSink : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _events = new();
    private WebApplication _app = null!;

    private WebhookSink()
    {
    }

    /// <summary>The value for <c>Deployer:Webhook:Url</c>.</summary>
    public string Url { get; private set; } = "";

    public IReadOnlyCollection<string> Events => _events;

    public static async Task<WebhookSink> StartAsync()
    {
        var sink = new WebhookSink();
        var (app, address) = await LocalRegistryLoopback.StartAsync(app => app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            sink._events.Enqueue(await reader.ReadToEndAsync());
            return Results.NoContent();
        }));
        sink._app = app;
        sink.Url = new Uri(address, "/hook").ToString();
        return sink;
    }

    /// <summary>Waits until an event whose JSON names <c>"event":"<paramref name="name"/>"</c> has arrived.</summary>
    public Task WaitForAsync(string name, TimeSpan timeout) =>
        Probes.WaitUntilAsync(() => Task.FromResult(_events.Any(e => e.Contains($"\"event\":\"{name}\"", StringComparison.Ordinal))), timeout, $"the {name} webhook", () => string.Join('\n', _events));

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
