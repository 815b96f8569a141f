namespace StudentPerformance.Deployer.Admin;

/// <summary>Section <c>Deployer:Admin</c>: the loopback admin endpoint and who may use it.</summary>
public sealed class AdminOptions
{
    public const string SectionName = "Deployer:Admin";

    /// <summary>The default token file's name inside <c>Deployer:StateDirectory</c>.</summary>
    public const string DefaultTokenFileName = "admin-token";

    /// <summary>Admin endpoint URL. Must be loopback (127.0.0.1, ::1 or localhost): it can trigger rollouts.</summary>
    public string Url { get; set; } = "http://127.0.0.1:9090";

    /// <summary>
    /// The bearer token's file (mode 0600, created with a random token at the first start if missing). Empty:
    /// <c>&lt;Deployer:StateDirectory&gt;/admin-token</c>. Every command needs <c>Authorization: Bearer &lt;token&gt;</c>.
    /// </summary>
    public string TokenFile { get; set; } = "";

    /// <summary>True: <c>GET /status</c> and <c>GET /metrics</c> answer without the token (still loopback only).</summary>
    public bool OpenStatus { get; set; }
}
