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
/// The default runtime API: a unix socket in the deployer's 0770 folder, created by the edge image from
/// Dockerfile.edge run from <see cref="EdgeContainer.Spec"/>. Another local user cannot connect; the deployer switches.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RuntimeApiSocketTests : IAsyncLifetime
{
    private static readonly string Tag = $"sp-edge-sock-test:{LocalRegistry.RandomSuffix()}";
    private readonly string _name = "sp-edge-sock-test-" + LocalRegistry.RandomSuffix();
    private EdgeRig _rig = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        await PredictorImages.BuildEdgeAsync(PredictorImages.RepositoryRoot, Tag);
        var socketRoot = Directory.CreateTempSubdirectory("sp-sock-").FullName;
        // Every folder above the socket's is open to all, so that only the socket folder's own mode stands in the way.
        File.SetUnixFileMode(socketRoot, (UnixFileMode)0b111_101_101);
        _rig = await EdgeRig.StartAsync(o =>
        {
            o.Image = Tag;
            o.Name = _name;
            o.DrainTimeout = TimeSpan.FromSeconds(5);
            o.RuntimeApi = $"unix:{socketRoot}/edge-run/admin.sock";
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
        var socketRoot = Path.GetDirectoryName(RuntimeApiSocket.DirectoryOf(_rig.Options))!;
        await _rig.DisposeAsync();
        Directory.Delete(socketRoot, recursive: true);
    }

    [Fact]
    public async Task UnprivilegedUser_IsRefused_WhileTheDeployerSwitches()
    {
        // Arrange
        using var runtime = new DockerContainerRuntime(
            Microsoft.Extensions.Options.Options.Create(new DockerOptions()),
            Microsoft.Extensions.Options.Options.Create(new DiskGuardOptions()),
            _services.GetRequiredService<ResiliencePipelineProvider<string>>());
        await _rig.Proxy.EnsureConfigAsync(_rig.Layout, CancellationToken.None);
        await runtime.RunAsync(EdgeContainer.Spec(_rig.Options), CancellationToken.None);
        await _rig.WaitForLiveAsync(EdgeSlot.Blue, TimeSpan.FromSeconds(60));
        var socket = RuntimeApiSocket.PathOf(_rig.Options)!;
        using var channel = GrpcChannel.ForAddress(_rig.GrpcAddress);

        // Act: nobody (uid and gid 65534, no other groups) asks the runtime API for its info.
        var (exitCode, output) = await LocalRegistry.TryRunProcessAsync("setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
             "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'show info\\n'); print(s.recv(4096))", socket]);
        await _rig.Proxy.SwitchAsync(_rig.Layout.WithLive(EdgeSlot.Green), CancellationToken.None);

        // Assert
        Assert.NotEqual(0, exitCode);
        Assert.Contains("PermissionError", output, StringComparison.Ordinal);
        Assert.Equal("green", await EdgeRig.CheckAsync(channel));
        Assert.Equal((UnixFileMode)0b111_111_000, File.GetUnixFileMode(Path.GetDirectoryName(socket)!));
        Assert.Equal((UnixFileMode)0b110_110_000, File.GetUnixFileMode(socket));
        var stats = (await File.ReadAllLinesAsync(_rig.ConfigPath)).Where(l => l.TrimStart().StartsWith("stats socket", StringComparison.Ordinal));
        Assert.StartsWith($"stats socket {socket} mode 660 gid ", Assert.Single(stats).Trim(), StringComparison.Ordinal);
    }
}
