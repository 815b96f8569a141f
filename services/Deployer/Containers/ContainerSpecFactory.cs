namespace StudentPerformance.Deployer.Containers;

/// <summary>
/// Turns <see cref="ContainerSpecOptions"/> into the specs of the managed and the preflight container. Every spec
/// made here carries <see cref="Hardening"/>: whatever else a later kind of container (a slot, the edge) needs,
/// it starts from the same hardening and adds back only what it names, with the reason (docs/security.md).
/// </summary>
public static class ContainerSpecFactory
{
    /// <summary>The configured bindings, or <c>8000:8000</c> on <see cref="ContainerSpecOptions.HostIp"/> when none is set.</summary>
    public static IReadOnlyList<PortBinding> Bindings(ContainerSpecOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var texts = options.Ports.Count == 0 ? [PortBinding.Default] : options.Ports;
        var bindings = new List<PortBinding>();
        foreach (var text in texts)
        {
            if (PortBinding.TryParse(text, options.HostIp, out var binding))
            {
                bindings.Add(binding!);
            }
        }

        return bindings;
    }

    /// <summary>
    /// The admin port binding: <see cref="ContainerSpecOptions.AdminPort"/> on the host's 127.0.0.1, on a port the
    /// engine picks (read back by inspecting the container). Empty when the port is 0 or already published.
    /// </summary>
    public static IReadOnlyList<PortBinding> AdminBindings(ContainerSpecOptions options, IReadOnlyList<PortBinding> published)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(published);
        return options.AdminPort <= 0 || published.Any(p => p.ContainerPort == options.AdminPort)
            ? []
            : [new PortBinding("127.0.0.1", 0, options.AdminPort)];
    }

    /// <summary>The long-running container, pinned to the digest and labelled with it.</summary>
    public static ContainerSpec Managed(ContainerSpecOptions options, string imageName, string digest, string rolloutId)
    {
        ArgumentNullException.ThrowIfNull(options);
        var bindings = Bindings(options);
        return new ContainerSpec(
            options.Name,
            $"{imageName}@{digest}",
            [.. bindings, .. AdminBindings(options, bindings)],
            new Dictionary<string, string>(options.Env),
            Labels(options, imageName, digest, rolloutId, role: "managed"),
            options.RestartPolicy,
            options.MemoryMiB * 1024 * 1024,
            (long)(options.Cpus * 1e9))
        {
            Hardening = Hardening(options),
        };
    }

    /// <summary>
    /// The candidate for preflight: same image, env and limits, but only the gRPC port, on an ephemeral loopback
    /// port, and no restart policy (a crash must show as a crash).
    /// </summary>
    public static ContainerSpec Preflight(ContainerSpecOptions options, string imageName, string digest, string rolloutId)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ContainerSpec(
            PreflightName(options.Name),
            $"{imageName}@{digest}",
            [new PortBinding("127.0.0.1", 0, options.GrpcPort)],
            new Dictionary<string, string>(options.Env),
            Labels(options, imageName, digest, rolloutId, role: "preflight"),
            "no",
            options.MemoryMiB * 1024 * 1024,
            (long)(options.Cpus * 1e9))
        {
            Hardening = Hardening(options),
        };
    }

    /// <summary>The hardening that <c>Deployer:Container:Hardening</c> asks of every container the deployer creates.</summary>
    public static ContainerHardening Hardening(ContainerSpecOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return ContainerHardening.From(options.Hardening);
    }

    public static string PreviousName(string name) => name + "-previous";

    public static string PreflightName(string name) => name + "-preflight";

    private static Dictionary<string, string> Labels(ContainerSpecOptions options, string imageName, string digest, string rolloutId, string role)
    {
        var labels = new Dictionary<string, string>(options.Labels, StringComparer.Ordinal)
        {
            [ContainerLabels.Managed] = "true",
            [ContainerLabels.Digest] = digest,
            [ContainerLabels.Image] = imageName,
            [ContainerLabels.RolloutId] = rolloutId,
            [ContainerLabels.Role] = role,
        };
        return labels;
    }
}
