using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// The edge container for the blue/green strategy: it runs the edge's file with the configured image and the checked
/// certificate copy, and the slots are on its network. Reconciliation calls it on every tick and in a Recreate
/// migration; <see cref="ImageProblem"/> and <see cref="TlsProblem"/> are what <c>/status</c> warns of.
/// </summary>
internal sealed class EdgeUpkeep(
    BlueGreenSlots slots,
    IContainerRuntime docker,
    IEdgeProxy edge,
    EdgeImage edgeImage,
    EdgeTls edgeTls,
    TimeProvider time,
    ILogger<BlueGreenStrategy> logger)
{
    private static readonly TimeSpan EdgeStartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan EdgePollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Why the configured edge image does not run (not pulled, refused), or null.</summary>
    public string? ImageProblem => edgeImage.Problem;

    /// <summary>Why the configured certificate is not what the edge serves, or null.</summary>
    public string? TlsProblem => edgeTls.Problem;

    /// <summary>The certificate the edge's copy holds, when TLS is on.</summary>
    public EdgeCertificate? Certificate => edgeTls.Current;

    /// <summary>
    /// Slots started before <c>Deployer:Edge:SlotNetwork</c> was set (by an older deployer) join it now, at their
    /// addresses, before the edge's file names those addresses: else the live slot would be unreachable.
    /// </summary>
    public async Task JoinSlotNetworkAsync(CancellationToken ct)
    {
        if (EdgeSlotNetwork.Create(slots.EdgeSettings) is not { } network)
        {
            return;
        }

        foreach (var slot in Enum.GetValues<EdgeSlot>())
        {
            await docker.ConnectNetworkAsync(slots.Name(slot), network.For(slot), ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The edge runs the file's configuration: the file is written (or rewritten when the settings changed), the
    /// container is created, started or restarted to read it, and its runtime API answers.
    /// </summary>
    public async Task EnsureAsync(EdgeLayout layout, CancellationToken ct)
    {
        // The certificate's checked copy first: the configuration names it, and an edge that starts loads it.
        await edgeTls.PrepareAsync(ct).ConfigureAwait(false);
        var written = await edge.EnsureConfigAsync(layout, ct).ConfigureAwait(false);
        var current = await docker.InspectAsync(slots.EdgeSettings.Name, ct).ConfigureAwait(false);
        // A container made from another image, or for another runtime API, is replaced (after its image is pulled).
        var wrongImage = current is not null && !EdgeContainer.IsCurrent(current.Labels, slots.EdgeSettings);
        if ((current is null || wrongImage) && !await edgeImage.EnsureAsync(ct).ConfigureAwait(false) && current is null)
        {
            throw new ContainerRuntimeException(edgeImage.Problem!, isTransient: true);
        }

        if (current is not null && !wrongImage)
        {
            edgeImage.InUse();
        }

        if (wrongImage && edgeImage.Problem is null)
        {
            Log.EdgeReplaced(logger, slots.EdgeSettings.Name, slots.EdgeSettings.Image);
            await docker.RemoveAsync(slots.EdgeSettings.Name, ct).ConfigureAwait(false);
            current = null;
        }

        if (current is null)
        {
            Log.EdgeCreated(logger, slots.EdgeSettings.Name, layout.Live);
            await docker.RunAsync(EdgeContainer.Spec(slots.EdgeSettings), ct).ConfigureAwait(false);
        }
        else if (current.State.IsDown)
        {
            Log.EdgeStarted(logger, slots.EdgeSettings.Name, current.State.Status);
            await docker.StartAsync(slots.EdgeSettings.Name, ct).ConfigureAwait(false);
        }
        else if (written)
        {
            // Its settings changed (ports, timeouts): HAProxy reads its file only at start.
            Log.EdgeRestarted(logger, slots.EdgeSettings.Name);
            await docker.StopAsync(slots.EdgeSettings.Name, slots.Container.StopTimeout, ct).ConfigureAwait(false);
            await docker.StartAsync(slots.EdgeSettings.Name, ct).ConfigureAwait(false);
        }
        else
        {
            // Running on its file: a replaced certificate reaches it through the runtime API, connections kept.
            await edgeTls.ApplyAsync(ct).ConfigureAwait(false);
            return;
        }

        var answers = await Wait.UntilAsync(async c => await edge.GetStateAsync(c).ConfigureAwait(false) is not null, EdgePollInterval, EdgeStartTimeout, time, ct).ConfigureAwait(false);
        if (!answers)
        {
            throw new EdgeRuntimeApiException($"the edge '{slots.EdgeSettings.Name}' did not answer on its runtime API ({slots.EdgeSettings.RuntimeApi}) within {EdgeStartTimeout}");
        }

        await edgeTls.ApplyAsync(ct).ConfigureAwait(false);
    }
}
