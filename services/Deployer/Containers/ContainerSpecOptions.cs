namespace StudentPerformance.Deployer.Containers;

/// <summary>The managed container, section <c>Deployer:Container</c>.</summary>
public sealed class ContainerSpecOptions
{
    public const string SectionName = "Deployer:Container";

    /// <summary>Name of the managed container. The previous one is kept as <c>&lt;Name&gt;-previous</c> during a swap.</summary>
    public string Name { get; set; } = "predictor";

    /// <summary>Port bindings <c>host:container</c> or <c>ip:host:container</c>; TCP.</summary>
    public IList<string> Ports { get; set; } = [];

    /// <summary>Host address the ports are published on when a binding names none.</summary>
    public string HostIp { get; set; } = "0.0.0.0";

    /// <summary>Container port that serves gRPC (Health and Predict); probed through its published host port.</summary>
    public int GrpcPort { get; set; } = 8000;

    /// <summary>
    /// Container port of the predictor's admin endpoint (its sample of recent inputs, for the shadow step). Published
    /// on the host's 127.0.0.1 only, on a port the engine picks, and never part of <see cref="Ports"/> or the edge's
    /// layout. 0: not published (the shadow step then skips with a warning).
    /// </summary>
    public int AdminPort { get; set; } = 8081;

    /// <summary>Environment variables of the container.</summary>
    public IDictionary<string, string> Env { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Extra labels. The deployer adds its own <c>org.studentperformance.deployer.*</c> labels.</summary>
    public IDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Docker restart policy: <c>no</c>, <c>always</c>, <c>unless-stopped</c> or <c>on-failure</c>.</summary>
    public string RestartPolicy { get; set; } = "unless-stopped";

    /// <summary>Optional memory limit in MiB (0 = none).</summary>
    public long MemoryMiB { get; set; }

    /// <summary>Optional CPU limit in cores, for example 1.5 (0 = none).</summary>
    public double Cpus { get; set; }

    /// <summary>Time between SIGTERM and SIGKILL when stopping the old container.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Section <c>Deployer:Container:Hardening</c>: read-only root, capabilities, pids, log rotation (docs/security.md).</summary>
    public ContainerHardeningOptions Hardening { get; set; } = new();
}
