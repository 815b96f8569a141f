namespace StudentPerformance.Deployer.Fleet;

/// <summary>
/// Section <c>Deployer:Fleet</c>: hosts that poll the same tag roll a new digest out in waves, one canary first,
/// coordinated through one DynamoDB table (docs/fleet.md). Off by default: a single host behaves as without it.
/// </summary>
public sealed class FleetOptions
{
    public const string SectionName = "Deployer:Fleet";

    /// <summary>Coordinate with the other hosts through <see cref="Table"/>.</summary>
    public bool Enabled { get; set; }

    /// <summary>The DynamoDB table (partition key <c>pk</c>, a string; TTL on <c>expiresAt</c>).</summary>
    public string Table { get; set; } = "";

    /// <summary>The table's AWS region, e.g. <c>eu-west-1</c>. Required unless <see cref="ServiceUrl"/> is set.</summary>
    public string Region { get; set; } = "";

    /// <summary>This host's name in the fleet record. Empty: the EC2 instance id, read through IMDSv2 at start.</summary>
    public string HostId { get; set; } = "";

    /// <summary>Another DynamoDB endpoint (a local DynamoDB-protocol server in tests). Empty: the region's endpoint.</summary>
    public string ServiceUrl { get; set; } = "";

    /// <summary>
    /// How long a canary's claim holds without a renewal. Another host takes the digest over once it has seen the same
    /// lease unchanged for this long on its own clock, so clocks need not agree between hosts.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often the canary renews its claim while it rolls out and bakes; well below <see cref="LeaseDuration"/>.</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Time limit of one call to the table; a call that takes longer counts as the table being unreachable.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a digest's record is kept after its last write (DynamoDB's TTL removes it).</summary>
    public TimeSpan RecordRetention { get; set; } = TimeSpan.FromDays(90);

    /// <summary>The instance metadata service (IMDSv2) asked for the host id when <see cref="HostId"/> is empty.</summary>
    public string MetadataUrl { get; set; } = "http://169.254.169.254";
}
