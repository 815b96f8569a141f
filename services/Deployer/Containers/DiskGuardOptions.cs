namespace StudentPerformance.Deployer.Containers;

/// <summary>
/// Section <c>Deployer:Disk</c>: the disk guard before a pull. It lives beside the engine rather than the rollout
/// because the engine adapter measures <see cref="DataRootPath"/>; the rollout, one layer up, reads the rest.
/// </summary>
public sealed class DiskGuardOptions
{
    public const string SectionName = "Deployer:Disk";

    /// <summary>Minimum free space on Docker's data root before a pull, in MiB.</summary>
    public long MinFreeMiB { get; set; } = 2048;

    /// <summary>Images of the tracked repository kept locally (newest first), so a rollback stays possible.</summary>
    public int KeepImages { get; set; } = 2;

    /// <summary>
    /// Where to measure free space. Empty: Docker's data root as the engine reports it, which is right when
    /// the deployer runs on the host. In a container, mount the data root and name the mount here.
    /// </summary>
    public string DataRootPath { get; set; } = "";
}
