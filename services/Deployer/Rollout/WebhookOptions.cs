namespace StudentPerformance.Deployer.Rollout;

/// <summary>Section <c>Deployer:Webhook</c>: optional JSON notifications.</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Deployer:Webhook";

    /// <summary>URL that receives a JSON POST on rollout success, failure and rollback. Empty: off.</summary>
    public string Url { get; set; } = "";

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
