namespace StudentPerformance.Deployer.Containers;

/// <summary>Section <c>Deployer:Docker</c>: the engine connection.</summary>
public sealed class DockerOptions
{
    public const string SectionName = "Deployer:Docker";

    /// <summary>Engine endpoint, for example <c>unix:///var/run/docker.sock</c>.</summary>
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>Timeout of one engine call (not of a pull, which has <see cref="PullTimeout"/>).</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Timeout of one image pull.</summary>
    public TimeSpan PullTimeout { get; set; } = TimeSpan.FromMinutes(10);
}
