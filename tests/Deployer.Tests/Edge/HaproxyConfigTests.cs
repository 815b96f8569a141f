using System.Diagnostics;
using System.Runtime.Versioning;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;

namespace Deployer.Tests.Edge;

[SupportedOSPlatform("linux")]
public sealed class HaproxyConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sp-edge-config-").FullName;

    private static EdgeOptions Options => new()
    {
        RuntimeApi = "127.0.0.1:9999",
        BluePorts = ["18000:8000", "18080:8080"],
        GreenPorts = ["28000:8000", "28080:8080"],
        SlotNetwork = "",
    };

    private static EdgeOptions NetworkOptions => new()
    {
        RuntimeApi = "127.0.0.1:9999",
        BluePorts = ["18000:8000", "18080:8080"],
        GreenPorts = ["28000:8000", "28080:8080"],
        SlotNetwork = "predictor-slots",
        SlotSubnet = "10.213.47.8/29",
    };

    private static EdgeLayout Layout(EdgeSlot live, params PortBinding[] ports) =>
        EdgeLayout.Create(ports.Length > 0 ? ports : [new("0.0.0.0", 8000, 8000), new("0.0.0.0", 8080, 8080)], 8000, Options, live);

    [Fact]
    public void Render_GrpcRoute_SpeaksH2OnBothSidesAndChecksTheReadyPort()
    {
        var text = HaproxyConfig.Render(Layout(EdgeSlot.Blue), Options);

        Assert.Contains("bind ipv4@0.0.0.0:8000 proto h2\n", text, StringComparison.Ordinal);
        Assert.Contains("server blue 127.0.0.1:18000 proto h2 check check-proto h1 port 18080 ", text, StringComparison.Ordinal);
        Assert.Contains("server green 127.0.0.1:28000 proto h2 check check-proto h1 port 28080 ", text, StringComparison.Ordinal);
        Assert.Contains("http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost", text, StringComparison.Ordinal);
        Assert.Contains("stats socket ipv4@127.0.0.1:9999 level admin", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_HttpRoute_IsHttp11ToTheSlotsHttpPort()
    {
        var text = HaproxyConfig.Render(Layout(EdgeSlot.Blue), Options);

        Assert.Contains("bind ipv4@0.0.0.0:8080\n", text, StringComparison.Ordinal);
        Assert.Contains("server blue 127.0.0.1:18080 check check-proto h1 port 18080 ", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(EdgeSlot.Blue, "green")]
    [InlineData(EdgeSlot.Green, "blue")]
    public void Render_OtherSlot_StartsDisabledSoARestartedEdgeRoutesToTheLiveOne(EdgeSlot live, string other)
    {
        var lines = HaproxyConfig.Render(Layout(live), Options).Split('\n');

        var servers = lines.Where(l => l.TrimStart().StartsWith("server ", StringComparison.Ordinal) && !l.Contains("-standby", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, servers.Count);
        Assert.All(servers, s => Assert.Equal(s.TrimStart().StartsWith($"server {other} ", StringComparison.Ordinal), s.EndsWith(" disabled", StringComparison.Ordinal)));
    }

    [Fact]
    public void Render_SlotNetwork_ReachesEachSlotAtItsAddressWithoutTheLoopbackPorts()
    {
        var options = NetworkOptions;
        var layout = EdgeLayout.Create([new("0.0.0.0", 8000, 8000), new("0.0.0.0", 8080, 8080)], 8000, options, EdgeSlot.Blue);

        var text = HaproxyConfig.Render(layout, options);

        Assert.Contains("server blue 10.213.47.10:8000 proto h2 check check-proto h1 port 8080 ", text, StringComparison.Ordinal);
        Assert.Contains("server green 10.213.47.11:8000 proto h2 check check-proto h1 port 8080 ", text, StringComparison.Ordinal);
        Assert.Contains("server blue-standby 10.213.47.10:8080 check check-proto h1 port 8080 ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1:18000", text, StringComparison.Ordinal);
        Assert.DoesNotContain("port 18080", text, StringComparison.Ordinal);
    }

    [Fact]
    public void SlotSpec_SlotNetwork_AttachesTheSlotAtItsAddressAndKeepsTheLoopbackPorts()
    {
        var spec = SlotContainer.Spec(new ContainerSpecOptions { Name = "predictor" }, NetworkOptions, EdgeSlot.Green, "repo", "sha256:" + new string('a', 64), "run");

        Assert.Equal(new ContainerNetwork("predictor-slots", "10.213.47.8/29", "10.213.47.11"), spec.Network);
        Assert.Contains(new PortBinding("127.0.0.1", 28000, 8000), spec.Ports);
        Assert.All(spec.Ports, p => Assert.Equal("127.0.0.1", p.HostIp));
    }

    [Fact]
    public void SlotSpec_NoSlotNetwork_HasNone() =>
        Assert.Null(SlotContainer.Spec(new ContainerSpecOptions { Name = "predictor" }, Options, EdgeSlot.Blue, "repo", "sha256:" + new string('a', 64), "run").Network);

    [Theory]
    [InlineData("10.213.47.0/30")]
    [InlineData("10.213.47.4/29")]
    [InlineData("fd00::/64")]
    [InlineData("nonsense")]
    public void Create_SlotSubnetNotAnIpv4NetworkOfEight_NamesTheKey(string subnet)
    {
        var options = NetworkOptions;
        options.SlotSubnet = subnet;

        var error = Assert.Throws<ArgumentException>(() => EdgeLayout.Create([new PortBinding("0.0.0.0", 8000, 8000)], 8000, options, EdgeSlot.Blue));

        Assert.Contains("Deployer:Edge:SlotSubnet", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_LongLivedStreams_GetTheIdleTimeoutNotHaproxysDefaults()
    {
        var options = Options;
        options.IdleTimeout = TimeSpan.FromMinutes(30);

        var text = HaproxyConfig.Render(Layout(EdgeSlot.Blue), options);

        Assert.Contains("timeout client 1800000ms", text, StringComparison.Ordinal);
        Assert.Contains("timeout server 1800000ms", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(EdgeSlot.Blue)]
    [InlineData(EdgeSlot.Green)]
    public async Task WriteAsync_RenderedFile_NamesTheLiveSlot(EdgeSlot live)
    {
        var path = await HaproxyConfig.WriteAsync(_directory, HaproxyConfig.Render(Layout(live), Options), CancellationToken.None);

        Assert.Equal(live, HaproxyConfig.ReadLiveSlot(path));
        Assert.Equal([HaproxyConfig.FileName], Directory.GetFiles(_directory).Select(Path.GetFileName));
        Assert.True(File.GetUnixFileMode(path).HasFlag(UnixFileMode.OtherRead), "the edge runs as its own user and must read the file");
    }

    [Fact]
    public void ReadLiveSlot_MissingFile_IsNull() =>
        Assert.Null(HaproxyConfig.ReadLiveSlot(Path.Combine(_directory, "missing.cfg")));

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("127.0.0.1")]
    [InlineData("::")]
    public async Task Render_CheckedByHaproxy_IsValid(string publicIp)
    {
        foreach (var options in new[] { Options, NetworkOptions })
        {
            var layout = EdgeLayout.Create([new PortBinding(publicIp, 8000, 8000), new PortBinding(publicIp, 8080, 8080)], 8000, options, EdgeSlot.Green);
            var path = await HaproxyConfig.WriteAsync(_directory, HaproxyConfig.Render(layout, options), CancellationToken.None);

            var (exitCode, output) = await RunHaproxyCheckAsync(path);

            Assert.True(exitCode == 0, output);
            Assert.DoesNotContain("WARNING", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Create_PublicPortWithoutSlotPort_NamesTheKey()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            EdgeLayout.Create([new PortBinding("0.0.0.0", 9000, 9000)], 8000, Options, EdgeSlot.Blue));

        Assert.Contains("Deployer:Edge:BluePorts", error.Message, StringComparison.Ordinal);
        Assert.Contains("9000", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0:8000")]
    [InlineData("0.0.0.0:18000:8000")]
    [InlineData("nonsense")]
    public void Create_SlotPortNotFixedOnLoopback_NamesTheKey(string entry)
    {
        var options = Options;
        options.GreenPorts = [entry, "28080:8080"];

        var error = Assert.Throws<ArgumentException>(() => EdgeLayout.Create([new PortBinding("0.0.0.0", 8000, 8000)], 8000, options, EdgeSlot.Blue));

        Assert.Contains("Deployer:Edge:GreenPorts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_SlotsSharingAPort_IsRefused()
    {
        var options = Options;
        options.GreenPorts = ["18000:8000", "28080:8080"];

        var error = Assert.Throws<ArgumentException>(() => EdgeLayout.Create([new PortBinding("0.0.0.0", 8000, 8000)], 8000, options, EdgeSlot.Blue));

        Assert.Contains("must not share a host port", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    internal static async Task<(int ExitCode, string Output)> RunHaproxyCheckAsync(string path)
    {
        var start = new ProcessStartInfo(EdgeRig.Haproxy, ["-c", "-f", path])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start haproxy");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}
