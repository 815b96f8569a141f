using StudentPerformance.Deployer.Registry;

namespace StudentPerformance.Deployer.Containers;

/// <summary>
/// The few engine operations a rollout needs, in domain records. Not-found maps to null or false;
/// every other failure throws <see cref="ContainerRuntimeException"/>.
/// </summary>
public interface IContainerRuntime
{
    /// <summary>The container with this name, or null when there is none.</summary>
    Task<ContainerInfo?> InspectAsync(string name, CancellationToken cancellationToken);

    /// <summary>Pulls <paramref name="reference"/> (<c>repo@sha256:…</c>) unless the engine already has it.</summary>
    Task PullAsync(string reference, RegistryCredentials? credentials, CancellationToken cancellationToken);

    /// <summary>Creates a container without starting it.</summary>
    Task CreateAsync(ContainerSpec spec, CancellationToken cancellationToken);

    /// <summary>Creates and starts a container; returns it as inspected after start.</summary>
    Task<ContainerInfo> RunAsync(ContainerSpec spec, CancellationToken cancellationToken);

    /// <summary>Starts a container (a running one stays as it is). False when it does not exist.</summary>
    Task<bool> StartAsync(string name, CancellationToken cancellationToken);

    /// <summary>Sends SIGTERM, then SIGKILL after <paramref name="timeout"/>. False when it does not exist.</summary>
    Task<bool> StopAsync(string name, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Renames a container. False when it does not exist.</summary>
    Task<bool> RenameAsync(string name, string newName, CancellationToken cancellationToken);

    /// <summary>
    /// Attaches a container (running or not) to <paramref name="network"/> at its fixed address, creating the network
    /// when it is missing; a container already on it stays as it is. False when the container does not exist.
    /// </summary>
    Task<bool> ConnectNetworkAsync(string name, ContainerNetwork network, CancellationToken cancellationToken);

    /// <summary>Force-removes a container. False when it does not exist.</summary>
    Task<bool> RemoveAsync(string name, CancellationToken cancellationToken);

    /// <summary>The local images of one repository (tagged or pulled by digest), newest first.</summary>
    Task<IReadOnlyList<ImageInfo>> ListImagesAsync(string repository, CancellationToken cancellationToken);

    /// <summary>
    /// Removes one image reference (<c>repo:tag</c> or <c>repo@digest</c>); the image goes when its last
    /// reference goes. False when it is missing or used by a container.
    /// </summary>
    Task<bool> RemoveImageAsync(string reference, CancellationToken cancellationToken);

    /// <summary>Removes dangling (untagged, unused) images; returns the bytes reclaimed.</summary>
    Task<long> PruneDanglingImagesAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Free bytes on the engine's data root, or null when it cannot be measured from here (the deployer runs in a
    /// container without the data root mounted).
    /// </summary>
    Task<long?> GetFreeSpaceAsync(CancellationToken cancellationToken);
}

/// <summary>What a container is, as far as a rollout cares.</summary>
public sealed record ContainerInfo(
    string Id,
    string Name,
    string ImageId,
    ContainerState State,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<string> RepoDigests,
    IReadOnlyList<PortBinding> Ports)
{
    /// <summary>The hardening the engine reports for it (HostConfig), or null when not read.</summary>
    public ContainerHardening? Hardening { get; init; }

    /// <summary>The digest the deployer recorded when it created the container, or null when unmanaged.</summary>
    public string? DeployedDigest => Labels.TryGetValue(ContainerLabels.Digest, out var digest) ? digest : null;

    /// <summary>Host port that publishes <paramref name="containerPort"/>, or null.</summary>
    public PortBinding? PublishedPort(int containerPort) => Ports.FirstOrDefault(p => p.ContainerPort == containerPort && p.HostPort > 0);
}

public sealed record ContainerState(string Status, bool Running, bool Restarting, int RestartCount, long ExitCode, DateTimeOffset? StartedAt)
{
    /// <summary>Exited, dead or never started: not serving and not about to.</summary>
    public bool IsDown => !Running && !Restarting;
}

/// <summary>
/// Everything needed to create a container. <paramref name="NetworkMode"/> (for example <c>host</c>, for the edge) and
/// <paramref name="Binds"/> (<c>hostPath:containerPath[:ro]</c>) are null for the engine's defaults.
/// </summary>
public sealed record ContainerSpec(
    string Name,
    string Image,
    IReadOnlyList<PortBinding> Ports,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyDictionary<string, string> Labels,
    string RestartPolicy,
    long MemoryBytes,
    long NanoCpus,
    string? NetworkMode = null,
    IReadOnlyList<string>? Binds = null)
{
    /// <summary>
    /// A user-defined bridge network to attach the container to at a fixed address, instead of
    /// <see cref="NetworkMode"/>; the runtime creates the network when it is missing. Null: no such network.
    /// </summary>
    public ContainerNetwork? Network { get; init; }

    /// <summary>
    /// Read-only root, tmpfs, capabilities, no-new-privileges, pids limit and log rotation.
    /// <see cref="ContainerSpecFactory"/> sets it from <c>Deployer:Container:Hardening</c>; a spec made
    /// elsewhere is still hardened, with the defaults.
    /// </summary>
    public ContainerHardening Hardening { get; init; } = ContainerHardening.Default;
}

/// <summary>
/// A bridge network <paramref name="Name"/> with IPv4 <paramref name="Subnet"/> (CIDR), and the container's fixed
/// <paramref name="IPv4Address"/> on it.
/// </summary>
public sealed record ContainerNetwork(string Name, string Subnet, string IPv4Address);

public sealed record ImageInfo(string Id, IReadOnlyList<string> RepoTags, IReadOnlyList<string> RepoDigests, DateTimeOffset Created, long Size);

public static class ContainerLabels
{
    public const string Prefix = "org.studentperformance.deployer.";
    public const string Managed = Prefix + "managed";
    public const string Digest = Prefix + "digest";
    public const string Image = Prefix + "image";
    public const string RolloutId = Prefix + "rollout-id";
    public const string Role = Prefix + "role";
}

/// <summary>An engine call failed for a reason other than not-found.</summary>
public sealed class ContainerRuntimeException : Exception
{
    public ContainerRuntimeException(string message, bool isTransient, bool isUnauthorized = false, Exception? inner = null, bool isMissingImage = false)
        : base(message, inner)
    {
        IsTransient = isTransient;
        IsUnauthorized = isUnauthorized;
        IsMissingImage = isMissingImage;
    }

    public ContainerRuntimeException() : this("container runtime error", isTransient: true) { }

    public ContainerRuntimeException(string message) : this(message, isTransient: true) { }

    public ContainerRuntimeException(string message, Exception inner) : this(message, isTransient: true, inner: inner) { }

    /// <summary>Connection refused, 5xx or timeout: a retry may help.</summary>
    public bool IsTransient { get; }

    /// <summary>The registry refused the engine's credentials (401/403) during a pull.</summary>
    public bool IsUnauthorized { get; }

    /// <summary>
    /// The engine has no such image (404 on create): something removed it after the pull. Not the image's fault; a
    /// pull brings it back.
    /// </summary>
    public bool IsMissingImage { get; }
}
