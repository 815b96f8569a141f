namespace StudentPerformance.Deployer.Admin;

/// <summary>Section <c>Deployer:Admin</c>: the loopback admin endpoint.</summary>
public sealed class AdminOptions
{
    public const string SectionName = "Deployer:Admin";

    /// <summary>Admin endpoint URL; loopback by default because it can trigger rollouts.</summary>
    public string Url { get; set; } = "http://127.0.0.1:9090";
}
