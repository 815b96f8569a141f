using System.Runtime.Versioning;
using StudentPerformance.Deployer.Edge;

namespace Deployer.Tests.Edge;

/// <summary><c>Deployer:Edge:MetricsPort</c>: HAProxy's exporter is in the configuration only when asked for, on loopback.</summary>
[SupportedOSPlatform("linux")]
public sealed class EdgeMetricsConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sp-edge-metrics-").FullName;

    private static EdgeOptions Options(int metricsPort) => new()
    {
        RuntimeApi = "127.0.0.1:9999",
        BluePorts = ["18000:8000", "18080:8080"],
        GreenPorts = ["28000:8000", "28080:8080"],
        MetricsPort = metricsPort,
    };

    private static EdgeLayout Layout(EdgeOptions options) =>
        EdgeLayout.Create([new("0.0.0.0", 8000, 8000), new("0.0.0.0", 8080, 8080)], 8000, options, EdgeSlot.Blue);

    [Fact]
    public void Render_MetricsPortZero_HasNoExporter()
    {
        var options = Options(0);

        var text = HaproxyConfig.Render(Layout(options), options);

        Assert.DoesNotContain("prometheus-exporter", text, StringComparison.Ordinal);
        Assert.DoesNotContain("frontend metrics", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_MetricsPort_ServesTheExporterOnLoopbackOnly_AndHaproxyAcceptsIt()
    {
        var options = Options(9101);

        var text = HaproxyConfig.Render(Layout(options), options);
        var path = await HaproxyConfig.WriteAsync(_directory, text, CancellationToken.None);
        var (exitCode, output) = await HaproxyConfigTests.RunHaproxyCheckAsync(path);

        Assert.Contains("frontend metrics\n    bind 127.0.0.1:9101\n", text, StringComparison.Ordinal);
        Assert.Contains("http-request use-service prometheus-exporter if { path /metrics }", text, StringComparison.Ordinal);
        Assert.True(exitCode == 0, output);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
