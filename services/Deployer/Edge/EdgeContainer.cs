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
            Binds: [$"{Path.GetFullPath(options.ConfigDirectory)}:{HaproxyConfig.ContainerConfigDirectory}:ro"]);
    }
}
