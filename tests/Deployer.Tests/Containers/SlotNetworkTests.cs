using Deployer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Polly;
using Polly.Registry;
using StudentPerformance.Deployer.Containers;

namespace Deployer.Tests.Containers;

/// <summary>The runtime's handling of a slot's fixed-address network, against the real engine.</summary>
public sealed class SlotNetworkTests : IAsyncLifetime
{
    private readonly string _network = "sp-net-" + LocalRegistry.RandomSuffix();
    private readonly string _subnet = $"10.213.{Random.Shared.Next(128, 256)}.{Random.Shared.Next(32) * 8}/29";
    private readonly ServiceProvider _services = new ServiceCollection()
        .AddResiliencePipeline(DockerContainerRuntime.PipelineKey, (ResiliencePipelineBuilder _) => { })
        .AddResiliencePipeline(DockerContainerRuntime.PullPipelineKey, (ResiliencePipelineBuilder _) => { })
        .BuildServiceProvider();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Cli.TryRunAsync(["network", "rm", _network]);
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task Run_NetworkExistsWithAnotherSubnet_FailsNamingBothBeforeCreatingTheContainer()
    {
        await Cli.RunAsync(["network", "create", "--subnet", _subnet, _network]);
        using var runtime = new DockerContainerRuntime(
            Microsoft.Extensions.Options.Options.Create(new DockerOptions()),
            Microsoft.Extensions.Options.Options.Create(new DiskGuardOptions()),
            _services.GetRequiredService<ResiliencePipelineProvider<string>>());
        var name = "sp-net-slot-" + LocalRegistry.RandomSuffix();
        var spec = new ContainerSpec(name, "sp-no-such-image:never", [], new Dictionary<string, string>(), new Dictionary<string, string>(), "no", 0, 0)
        {
            Network = new ContainerNetwork(_network, "10.213.47.0/29", "10.213.47.2"),
        };

        var error = await Assert.ThrowsAsync<ContainerRuntimeException>(() => runtime.RunAsync(spec, CancellationToken.None));

        Assert.Contains($"network '{_network}' exists with subnet {_subnet}, not 10.213.47.0/29", error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
        Assert.Null(await runtime.InspectAsync(name, CancellationToken.None));
    }

    [Fact]
    public async Task ConnectNetwork_NoSuchContainer_IsFalseAndCreatesNothing()
    {
        using var runtime = new DockerContainerRuntime(
            Microsoft.Extensions.Options.Options.Create(new DockerOptions()),
            Microsoft.Extensions.Options.Options.Create(new DiskGuardOptions()),
            _services.GetRequiredService<ResiliencePipelineProvider<string>>());

        var connected = await runtime.ConnectNetworkAsync("sp-net-missing-" + LocalRegistry.RandomSuffix(), new ContainerNetwork(_network, _subnet, "10.0.0.2"), CancellationToken.None);

        Assert.False(connected);
        Assert.NotEqual(0, (await Cli.TryRunAsync(["network", "inspect", _network])).ExitCode);
    }
}
