using System.Runtime.Versioning;
using Deployer.Tests.Support;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Polly;
using Polly.Registry;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;

namespace Deployer.Tests.Edge;

/// <summary>
/// The edge image built from Dockerfile.edge, run by the deployer's own container runtime from
/// <see cref="EdgeContainer.Spec"/>, in front of two real Kestrel slots on the host's loopback.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(RealEdgeSwitches.Name)]
public sealed class EdgeContainerTests : IAsyncLifetime
{
    private static readonly string Tag = $"sp-edge-test:{LocalRegistry.RandomSuffix()}";
    private readonly string _name = "sp-edge-test-" + LocalRegistry.RandomSuffix();
    private EdgeRig _rig = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        await PredictorImages.BuildEdgeAsync(PredictorImages.RepositoryRoot, Tag);
        _rig = await EdgeRig.StartAsync(o =>
        {
            o.Image = Tag;
            o.Name = _name;
            o.DrainTimeout = TimeSpan.FromSeconds(5);
            // The container mounts only the configuration folder, read-only: its runtime API is on the host's loopback.
            o.RuntimeApi = $"127.0.0.1:{LocalRegistry.FreePort()}";
        });
        _services = new ServiceCollection()
            .AddResiliencePipeline(DockerContainerRuntime.PipelineKey, (ResiliencePipelineBuilder _) => { })
            .AddResiliencePipeline(DockerContainerRuntime.PullPipelineKey, (ResiliencePipelineBuilder _) => { })
            .BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        await Cli.TryRunAsync(["rm", "-f", _name]);
        await Cli.TryRunAsync(["rmi", Tag]);
        await _services.DisposeAsync();
        await _rig.DisposeAsync();
    }

    [Fact]
    public async Task EdgeContainer_RestartedAlone_RoutesToTheLiveSlotFromItsFile()
    {
        using var runtime = new DockerContainerRuntime(
            Microsoft.Extensions.Options.Options.Create(new DockerOptions()),
            Microsoft.Extensions.Options.Options.Create(new DiskGuardOptions()),
            _services.GetRequiredService<ResiliencePipelineProvider<string>>());
        await _rig.Proxy.WriteConfigAsync(_rig.Layout, CancellationToken.None);
        var edge = await runtime.RunAsync(EdgeContainer.Spec(_rig.Options), CancellationToken.None);
        Assert.True(edge.State.Running);
        await _rig.WaitForLiveAsync(EdgeSlot.Blue, TimeSpan.FromSeconds(60));
        using var channel = GrpcChannel.ForAddress(_rig.GrpcAddress);
        using var http = new HttpClient { BaseAddress = _rig.HttpAddress };
        Assert.Equal("blue", await EdgeRig.CheckAsync(channel));
        Assert.Equal("blue", await http.GetStringAsync("/slot"));

        await _rig.Proxy.SwitchAsync(_rig.Layout.WithLive(EdgeSlot.Green), CancellationToken.None);
        Assert.Equal("green", await EdgeRig.CheckAsync(channel));
        await Cli.RunAsync(["restart", _name], timeout: TimeSpan.FromMinutes(1));

        // The runtime API's state died with the old process; blue in maintenance (not drain) shows this state comes
        // from the file.
        await _rig.WaitForLiveAsync(EdgeSlot.Green, TimeSpan.FromSeconds(60));
        var state = await _rig.Proxy.GetStateAsync(CancellationToken.None);
        Assert.All(state!.Servers.Where(s => s.Slot == EdgeSlot.Blue), s => Assert.Equal(EdgeAdminState.Maintenance, s.Admin));
        Assert.Equal("green", await EdgeRig.CheckAsync(channel));
        Assert.Equal("green", await http.GetStringAsync("/slot"));
        var restarted = await runtime.InspectAsync(_name, CancellationToken.None);
        Assert.Equal("edge", restarted!.Labels[ContainerLabels.Role]);
        Assert.NotEqual(edge.State.StartedAt, restarted.State.StartedAt);
    }
}
