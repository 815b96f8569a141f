namespace StudentPerformance.Deployer.Rollout;

/// <summary>Section <c>Deployer:HealthGate</c>: the new container must stay SERVING after the swap.</summary>
public sealed class HealthGateOptions
{
    public const string SectionName = "Deployer:HealthGate";

    /// <summary>How long the new container must stay SERVING without restarts.</summary>
    public TimeSpan StableFor { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deadline for the whole gate, from container start.</summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a restored previous container may take to answer SERVING again after a rollback.</summary>
    public TimeSpan RestoreTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// After the gate passes, how long the new container is still watched while the old one is kept: a restart, an exit
    /// or failed health checks in this time switch back (BlueGreen) or roll back (Recreate) and quarantine the digest.
    /// Zero commits at the end of the gate.
    /// </summary>
    public TimeSpan BakeTime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Time between health probes.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}
