using StudentPerformance.Deployer.Containers;

namespace StudentPerformance.Deployer.Edge;

/// <summary>The edge container the deployer creates and reconciles, like the predictor's slots.</summary>
public static class EdgeContainer
{
    public const string Role = "edge";

    /// <summary>
    /// The edge: host networking (it binds the public ports itself and reaches the slots on the host's loopback, and
    /// its runtime API listens there), the configuration folder mounted read-only, and <c>unless-stopped</c> so it keeps
    /// routing while the deployer is down. No published ports: with host networking there is nothing to publish.
    /// </summary>
    public static ContainerSpec Spec(EdgeOptions options, IReadOnlyDictionary<string, string>? extraLabels = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var labels = new Dictionary<string, string>(extraLabels ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [ContainerLabels.Managed] = "true",
            [ContainerLabels.Image] = options.Image,
            [ContainerLabels.Role] = Role,
        };
        List<string> binds = [$"{Path.GetFullPath(options.ConfigDirectory)}:{HaproxyConfig.ContainerConfigDirectory}:ro"];
        List<string>? groups = null;
        if (RuntimeApiSocket.DirectoryOf(options) is { } socketDirectory)
        {
            // The same path inside: the configuration names the socket by the path the deployer connects to.
            binds.Add($"{socketDirectory}:{socketDirectory}");
            groups = [RuntimeApiSocket.DeployerGroupId().ToString(System.Globalization.CultureInfo.InvariantCulture)];
        }

        if (options.Tls.Enabled)
        {
            // Only the checked copy's folder (0750, the deployer's group), read-only and at the same path the
            // configuration's `crt` names; never the operator's file or its folder.
            binds.Add($"{EdgeTls.CopyDirectory(options)}:{EdgeTls.CopyDirectory(options)}:ro");
            groups ??= [RuntimeApiSocket.DeployerGroupId().ToString(System.Globalization.CultureInfo.InvariantCulture)];
        }

        labels[SpecLabel] = SpecVersion(options);
        return new ContainerSpec(
            options.Name,
            options.Image,
            Ports: [],
            Env: new Dictionary<string, string>(StringComparer.Ordinal),
            labels,
            RestartPolicy: "unless-stopped",
            MemoryBytes: 0,
            NanoCpus: 0,
            NetworkMode: "host",
            Binds: binds)
        {
            GroupAdd = groups,
        };
    }

    /// <summary>The label that records what the container was created with, beyond its image.</summary>
    public const string SpecLabel = ContainerLabels.Prefix + "edge-runtime-api";

    /// <summary>
    /// False when the container was made for another image or another runtime API: mounts and groups are fixed at
    /// creation, so such an edge is replaced, not restarted.
    /// </summary>
    public static bool IsCurrent(IReadOnlyDictionary<string, string> labels, EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(options);
        return labels.GetValueOrDefault(ContainerLabels.Image) == options.Image && labels.GetValueOrDefault(SpecLabel) == SpecVersion(options);
    }

    // TLS adds a mount: an edge made without it is replaced. Unchanged without TLS, so existing edges stay.
    private static string SpecVersion(EdgeOptions options) => options.Tls.Enabled ? options.RuntimeApi + ";tls" : options.RuntimeApi;
}
