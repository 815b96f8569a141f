using System.Net;
using Deployer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

/// <summary>
/// The signed webhook, sent by the deployer's notifier over HTTP to a receiver on loopback that verifies it
/// independently: authentic deliveries pass; a replayed, altered or stale one is refused.
/// </summary>
public sealed class WebhookSigningTests : IAsyncLifetime
{
    private WebhookSink _sink = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _sink = await WebhookSink.StartAsync();
        _services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        await _sink.DisposeAsync();
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task Publish_ReceiverVerifiesTheSignature_AndRefusesAReplay()
    {
        await Notifier(TimeProvider.System).PublishAsync(Record(), "repo", CancellationToken.None);
        var sent = Assert.Single(_sink.Deliveries);

        var replayed = await PostAsync(sent.Timestamp, sent.Signature, sent.Body);

        Assert.Single(_sink.Events);
        Assert.Contains("\"event\":\"success\"", _sink.Events.Single(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, replayed);
        Assert.Equal(["replayed"], _sink.Rejections);
    }

    [Fact]
    public async Task Publish_AlteredBodyOrTimestamp_IsRefused()
    {
        await Notifier(TimeProvider.System).PublishAsync(Record(), "repo", CancellationToken.None);
        var sent = Assert.Single(_sink.Deliveries);
        var altered = (byte[])sent.Body.Clone();
        altered[Array.IndexOf(altered, (byte)'s')] = (byte)'S';

        var alteredBody = await PostAsync(sent.Timestamp, sent.Signature, altered);
        var alteredTime = await PostAsync((long.Parse(sent.Timestamp, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), sent.Signature, sent.Body);

        Assert.Equal(HttpStatusCode.Unauthorized, alteredBody);
        Assert.Equal(HttpStatusCode.Unauthorized, alteredTime);
        Assert.Equal(["bad signature", "bad signature"], _sink.Rejections);
    }

    [Fact]
    public async Task Publish_SignedLongAgo_IsRefusedAsStale()
    {
        var past = new FakeTimeProvider(TimeProvider.System.GetUtcNow() - WebhookSink.Tolerance - TimeSpan.FromMinutes(1));

        await Notifier(past).PublishAsync(Record(), "repo", CancellationToken.None);

        Assert.Empty(_sink.Events);
        Assert.Equal(["stale timestamp"], _sink.Rejections);
    }

    private RolloutNotifier Notifier(TimeProvider time) => new(
        _services.GetRequiredService<IHttpClientFactory>(),
        Options.Create(new WebhookOptions { Url = _sink.Url, Secret = _sink.Secret }),
        new DeployerMetrics(),
        new QualityGateHistory(),
        time,
        NullLogger<RolloutNotifier>.Instance);

    private static RolloutRecord Record() =>
        new("r1", "sha256:" + new string('a', 64), RolloutKinds.Deploy, RolloutOutcome.Succeeded, "serving", TimeProvider.System.GetUtcNow(), TimeSpan.FromSeconds(3), null);

    private async Task<HttpStatusCode> PostAsync(string timestamp, string signature, byte[] body)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_sink.Url)) { Content = new ByteArrayContent(body) };
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp);
        request.Headers.Add(WebhookSignature.SignatureHeader, signature);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }
}
