using System.ComponentModel.DataAnnotations;
using StudentPerformance.Deployer.Containers;

namespace StudentPerformance.Deployer.Hosting;

/// <summary>
/// The deployer's own settings, section <c>Deployer</c>. The tracked image (<c>Deployer:Image</c>) and the
/// registry (<c>Deployer:Registry</c>) are bound by <c>AddImageRegistry</c>.
/// </summary>
public sealed class DeployerOptions
{
    public const string SectionName = "Deployer";

    /// <summary><c>Deploy</c> rolls out new digests; <c>Monitor</c> only checks and reports (dry run).</summary>
    public DeployerMode Mode { get; set; } = DeployerMode.Deploy;

    /// <summary>Time between registry checks. A random jitter of up to <see cref="PollJitter"/> is added.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound of the random delay added to each poll, so that many hosts do not poll in step.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan PollJitter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Folder for the host lock and the persisted state (quarantined digests, last rollout).</summary>
    [Required]
    public string StateDirectory { get; set; } = "/var/lib/student-performance-deployer";

    public ContainerSpecOptions Container { get; set; } = new();

    public PreflightOptions Preflight { get; set; } = new();

    public HealthGateOptions HealthGate { get; set; } = new();

    public DiskGuardOptions Disk { get; set; } = new();

    public DockerOptions Docker { get; set; } = new();

    public AdminOptions Admin { get; set; } = new();

    public WebhookOptions Webhook { get; set; } = new();
}

public enum DeployerMode
{
    Deploy,
    Monitor,
}

/// <summary>The managed container, section <c>Deployer:Container</c>.</summary>
public sealed class ContainerSpecOptions
{
    /// <summary>Name of the managed container. The previous one is kept as <c>&lt;Name&gt;-previous</c> during a swap.</summary>
    public string Name { get; set; } = "predictor";

    /// <summary>Port bindings <c>host:container</c> or <c>ip:host:container</c>; TCP.</summary>
    public IList<string> Ports { get; set; } = [];

    /// <summary>Host address the ports are published on when a binding names none.</summary>
    public string HostIp { get; set; } = "0.0.0.0";

    /// <summary>Container port that serves gRPC (Health and Predict); probed through its published host port.</summary>
    public int GrpcPort { get; set; } = 8000;

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

    /// <summary>Section <c>Deployer:Container:Hardening</c>: read-only root, capabilities, pids, log rotation (docs/hardening.md).</summary>
    public ContainerHardeningOptions Hardening { get; set; } = new();
}

/// <summary>Section <c>Deployer:Preflight</c>: the candidate runs on a loopback side port before the swap.</summary>
public sealed class PreflightOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>How long the candidate may take to reach SERVING and answer the golden request.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The golden <c>PredictRequest</c> in protobuf JSON form.</summary>
    public string GoldenRequest { get; set; } =
        """{"student":{"gender":"female","raceEthnicity":"group B","parentalLevelOfEducation":"bachelor's degree","lunch":"standard","testPreparationCourse":"none","readingScore":72,"writingScore":74}}""";

    /// <summary>Lowest acceptable golden <c>math_score</c>.</summary>
    public double MinScore { get; set; }

    /// <summary>Highest acceptable golden <c>math_score</c>.</summary>
    public double MaxScore { get; set; } = 100;
}

/// <summary>Section <c>Deployer:HealthGate</c>: the new container must stay SERVING after the swap.</summary>
public sealed class HealthGateOptions
{
    /// <summary>How long the new container must stay SERVING without restarts.</summary>
    public TimeSpan StableFor { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deadline for the whole gate, from container start.</summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a restored previous container may take to answer SERVING again after a rollback.</summary>
    public TimeSpan RestoreTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Time between health probes.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>Section <c>Deployer:Disk</c>: the disk guard before a pull.</summary>
public sealed class DiskGuardOptions
{
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

/// <summary>Section <c>Deployer:Docker</c>: the engine connection.</summary>
public sealed class DockerOptions
{
    /// <summary>Engine endpoint, for example <c>unix:///var/run/docker.sock</c>.</summary>
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>Timeout of one engine call (not of a pull, which has <see cref="PullTimeout"/>).</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Timeout of one image pull.</summary>
    public TimeSpan PullTimeout { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Section <c>Deployer:Admin</c>.</summary>
public sealed class AdminOptions
{
    /// <summary>Admin endpoint URL; loopback by default because it can trigger rollouts.</summary>
    public string Url { get; set; } = "http://127.0.0.1:9090";
}

/// <summary>Section <c>Deployer:Webhook</c>: optional JSON notifications.</summary>
public sealed class WebhookOptions
{
    /// <summary>URL that receives a JSON POST on rollout success, failure and rollback. Empty: off.</summary>
    public string Url { get; set; } = "";

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
