using System.ComponentModel.DataAnnotations;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// The loop's own settings, section <c>Deployer</c>. Each sub-section (<c>Deployer:Container</c>,
/// <c>Deployer:HealthGate</c>, …) is an options class of its own, beside the code that reads it.
/// </summary>
public sealed class DeployerOptions
{
    public const string SectionName = "Deployer";

    /// <summary><c>Deploy</c> rolls out new digests; <c>Monitor</c> only checks and reports (dry run).</summary>
    public DeployerMode Mode { get; set; } = DeployerMode.Deploy;

    /// <summary>
    /// How a new digest replaces the live one. <c>BlueGreen</c>: behind the edge proxy, the candidate starts beside the
    /// live slot and takes the traffic without a failed call (docs/edge.md). <c>Recreate</c>: stop the old container,
    /// start the new one on the same host ports (a short outage).
    /// </summary>
    public RolloutStrategy Strategy { get; set; } = RolloutStrategy.BlueGreen;

    /// <summary>Time between registry checks. A random jitter of up to <see cref="PollJitter"/> is added.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound of the random delay added to each poll, so that many hosts do not poll in step.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan PollJitter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Folder for the host lock and the persisted state (quarantined digests, last rollout).</summary>
    [Required]
    public string StateDirectory { get; set; } = "/var/lib/student-performance-deployer";
}

public enum RolloutStrategy
{
    Recreate,
    BlueGreen,
}

public enum DeployerMode
{
    Deploy,
    Monitor,
}
