using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Fleet;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>A finished rollout, as sent to the webhook.</summary>
public sealed record RolloutEvent(string Event, string RolloutId, string Image, string Digest, string Outcome, string Detail, double DurationSeconds, double? DowntimeSeconds,
    QualityGateReport? QualityGate = null, string? Host = null);

/// <summary>Records a finished rollout (or a fleet event) in metrics and sends the optional webhook, signed (<see cref="WebhookSignature"/>). Never throws.</summary>
internal sealed class RolloutNotifier(
    IHttpClientFactory httpClients,
    IOptions<WebhookOptions> options,
    DeployerMetrics metrics,
    QualityGateHistory quality,
    TimeProvider time,
    ILogger<RolloutNotifier> logger) : IFleetEvents
{
    public const string HttpClientName = "webhook";

    // What PostAsJsonAsync sent before the body was signed: camelCase, as receivers already parse it.
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public async Task PublishAsync(RolloutRecord record, string image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        metrics.Rollouts.WithLabels(record.Outcome.ToString()).Inc();
        metrics.RolloutDuration.Observe(record.Duration.TotalSeconds);
        if (record.Downtime is { } downtime)
        {
            metrics.Downtime.Observe(downtime.TotalSeconds);
        }

        var webhook = options.Value;
        if (webhook.Url.Length == 0)
        {
            return;
        }

        var name = record.Outcome switch
        {
            RolloutOutcome.Succeeded when record.Kind == RolloutKinds.Rollback => "rollback",
            RolloutOutcome.Succeeded => "success",
            RolloutOutcome.RolledBack => "rollback",
            _ => "failure",
        };
        var body = new RolloutEvent(name, record.Id, image, record.Digest, record.Outcome.ToString(), record.Detail,
            record.Duration.TotalSeconds, record.Downtime?.TotalSeconds, quality.ForRollout(record.Id));
        await SendAsync(webhook, body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends the <c>crash-loop</c> event: the live container restarts repeatedly outside any rollout.</summary>
    public async Task PublishCrashLoopAsync(string image, string? digest, string detail, CancellationToken cancellationToken)
    {
        var webhook = options.Value;
        if (webhook.Url.Length == 0)
        {
            return;
        }

        var body = new RolloutEvent("crash-loop", "", image, digest ?? "", "CrashLoop", detail, 0, null);
        await SendAsync(webhook, body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Counts a fleet event and sends <c>claimed</c>, <c>baked</c>, <c>refused</c>, <c>lost</c> and <c>rolled-back</c> to
    /// the webhook (an unreachable table is counted only: it would be sent every poll).
    /// </summary>
    public async Task PublishAsync(FleetEvent fleetEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fleetEvent);
        metrics.FleetEvents.WithLabels(fleetEvent.Event).Inc();
        var webhook = options.Value;
        if (webhook.Url.Length == 0 || fleetEvent.Event == "unavailable")
        {
            return;
        }

        var body = new RolloutEvent(fleetEvent.Event, "", fleetEvent.Image, fleetEvent.Digest, fleetEvent.Event, fleetEvent.Detail, 0, null, Host: fleetEvent.HostId);
        await SendAsync(webhook, body, cancellationToken).ConfigureAwait(false);
    }

    private async Task SendAsync(WebhookOptions webhook, RolloutEvent body, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(webhook.Timeout);
            using var client = httpClients.CreateClient(HttpClientName);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(body, JsonOptions);
            var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(webhook.Url)) { Content = new ByteArrayContent(bytes) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(webhook.Secret, timestamp, bytes));
            using var response = await client.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                Log.WebhookRejected(logger, body.Event, (int)response.StatusCode);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            // A notification is best effort: it must never fail or delay a rollout for long.
            Log.WebhookFailed(logger, body.Event, ex.GetType().Name);
        }
    }
}

public static class RolloutKinds
{
    public const string Deploy = "deploy";
    public const string Rollback = "rollback";
    public const string Resume = "resume";

    /// <summary>A Recreate host moved behind the edge (BlueGreen's first start).</summary>
    public const string Migrate = "migrate";
}
