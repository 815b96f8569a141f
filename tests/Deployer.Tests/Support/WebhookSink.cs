using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Deployer.Tests.Support;

/// <summary>
/// A webhook receiver on a loopback port that checks what a careful receiver checks: the HMAC-SHA256 of
/// <c>"&lt;X-Deployer-Timestamp&gt;.&lt;body&gt;"</c> with its <see cref="Secret"/> (computed here, not with the
/// deployer's code), a timestamp within <see cref="Tolerance"/> of now, and a signature it has not seen before. It
/// keeps the bodies it accepted in <see cref="Events"/> and answers 401 (and records why) to anything else.
/// </summary>
public sealed class WebhookSink : IAsyncDisposable
{
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);
    private readonly ConcurrentQueue<string> _events = new();
    private readonly ConcurrentQueue<string> _rejections = new();
    private readonly ConcurrentDictionary<string, byte> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Timestamp, string Signature, byte[] Body)> _deliveries = new();
    private WebApplication _app = null!;

    private WebhookSink()
    {
    }

    /// <summary>The value for <c>Deployer:Webhook:Url</c>.</summary>
    public string Url { get; private set; } = "";

    /// <summary>The value for <c>Deployer:Webhook:Secret</c>.</summary>
    public string Secret { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public IReadOnlyCollection<string> Events => _events;

    /// <summary>Every request as it came (headers and bytes), accepted or not: what an eavesdropper could replay.</summary>
    public IReadOnlyCollection<(string Timestamp, string Signature, byte[] Body)> Deliveries => _deliveries;

    /// <summary>Why requests were refused, in order.</summary>
    public IReadOnlyCollection<string> Rejections => _rejections;

    /// <summary>Both settings the deployer needs.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Deployer:Webhook:Url", Url), new("Deployer:Webhook:Secret", Secret)];

    public static async Task<WebhookSink> StartAsync()
    {
        var sink = new WebhookSink();
        var (app, address) = await LocalRegistryLoopback.StartAsync(app => app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            var (timestamp, signature) = (request.Headers["X-Deployer-Timestamp"].ToString(), request.Headers["X-Deployer-Signature"].ToString());
            sink._deliveries.Enqueue((timestamp, signature, body.ToArray()));
            var refusal = sink.Check(timestamp, signature, body.ToArray());
            if (refusal is not null)
            {
                sink._rejections.Enqueue(refusal);
                return Results.StatusCode(StatusCodes.Status401Unauthorized);
            }

            sink._events.Enqueue(Encoding.UTF8.GetString(body.ToArray()));
            return Results.NoContent();
        }));
        sink._app = app;
        sink.Url = new Uri(address, "/hook").ToString();
        return sink;
    }

    /// <summary>Null when the delivery is authentic and new; otherwise why not.</summary>
    public string? Check(string timestamp, string signature, byte[] body)
    {
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return "no timestamp";
        }

        var signed = Encoding.UTF8.GetBytes(timestamp + ".").Concat(body).ToArray();
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), signed));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
        {
            return "bad signature";
        }

        if ((TimeProvider.System.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > Tolerance)
        {
            return "stale timestamp";
        }

        return _seen.TryAdd(signature, 0) ? null : "replayed";
    }

    /// <summary>Waits until an event whose JSON names <c>"event":"<paramref name="name"/>"</c> has arrived.</summary>
    public Task WaitForAsync(string name, TimeSpan timeout) =>
        Probes.WaitUntilAsync(() => Task.FromResult(_events.Any(e => e.Contains($"\"event\":\"{name}\"", StringComparison.Ordinal))), timeout, $"the {name} webhook", () => string.Join('\n', _events.Concat(_rejections)));

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
