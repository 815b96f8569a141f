namespace StudentPerformance.Deployer.Rollout;

/// <summary>Section <c>Deployer:Webhook</c>: optional JSON notifications, signed with HMAC-SHA256.</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Deployer:Webhook";

    /// <summary>
    /// URL that receives a JSON POST on rollout success, failure and rollback. Empty: off. https, unless the host is
    /// loopback (a local relay).
    /// </summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// The shared secret of the signature header (required with <see cref="Url"/>, at least 32 characters). Each POST
    /// carries <c>X-Deployer-Timestamp</c> (Unix seconds) and <c>X-Deployer-Signature: sha256=&lt;hex&gt;</c>, the
    /// HMAC-SHA256 of <c>"&lt;timestamp&gt;.&lt;body&gt;"</c>. Never logged.
    /// </summary>
    public string Secret { get; set; } = "";

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
