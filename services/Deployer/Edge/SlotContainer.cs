using StudentPerformance.Deployer.Containers;

namespace StudentPerformance.Deployer.Edge;

/// <summary>The predictor's blue and green slots behind the edge.</summary>
public static class SlotContainer
{
    public const string Role = "slot";

    /// <summary>Label naming the slot a container runs in: <c>blue</c> or <c>green</c>.</summary>
    public const string SlotLabel = ContainerLabels.Prefix + "slot";

    /// <summary><c>&lt;Deployer:Container:Name&gt;-blue</c> or <c>-green</c>.</summary>
    public static string Name(string baseName, EdgeSlot slot) => $"{baseName}-{slot.ServerName()}";

    /// <summary>
    /// A slot: the managed container's image, env, limits and hardening, its ports published on 127.0.0.1 only (the
    /// edge holds the public ones; the deployer probes these), on <c>Deployer:Edge:SlotNetwork</c> at the slot's fixed
    /// address (where the edge reaches it), restarted unless stopped, and labelled with its slot.
    /// </summary>
    public static ContainerSpec Spec(ContainerSpecOptions container, EdgeOptions edge, EdgeSlot slot, string imageName, string digest, string rolloutId)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(edge);
        var managed = ContainerSpecFactory.Managed(container, imageName, digest, rolloutId);
        var labels = new Dictionary<string, string>(managed.Labels, StringComparer.Ordinal)
        {
            [ContainerLabels.Role] = Role,
            [SlotLabel] = slot.ServerName(),
        };
        return managed with
        {
            Name = Name(container.Name, slot),
            Ports = EdgeLayout.SlotBindings(edge, slot),
            Labels = labels,
            RestartPolicy = "unless-stopped",
            Network = EdgeSlotNetwork.Create(edge)?.For(slot),
        };
    }
}
