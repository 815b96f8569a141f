using System.Net;
using System.Net.Sockets;
using Deployer.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StudentPerformance.Deployer.Hosting;

namespace StudentPerformance.Deployer.Tests.Admin;

/// <summary>The command line as the image's HEALTHCHECK and an operator use it: <c>Deployer probe</c> and <c>--help</c>.</summary>
public class ProbeCommandTests
{
    [Fact]
    public async Task Probe_HealthyDeployer_ReturnsZero()
    {
        var (app, address) = await LocalRegistryLoopback.StartAsync(a => a.MapGet("/healthz", () => Results.Text("ok")));
        await using var healthz = app;
        using var output = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(["probe", "--url", address.ToString()], output, TextWriter.Null);

        Assert.Equal(0, exitCode);
        Assert.Contains("/healthz: 200", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_TokenFile_SendsItsTokenAsBearer()
    {
        var tokenFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(tokenFile, "probe-token-0123456789abcdef0123456789\n");
        var (app, address) = await LocalRegistryLoopback.StartAsync(a => a.MapGet("/healthz", (HttpRequest r) =>
            r.Headers.Authorization == "Bearer probe-token-0123456789abcdef0123456789" ? Results.Text("ok") : Results.StatusCode(401)));
        await using var healthz = app;

        var exitCode = await DeployerCommandLine.InvokeAsync(["probe", "--url", address.ToString(), "--token-file", tokenFile], TextWriter.Null, TextWriter.Null);
        File.Delete(tokenFile);

        Assert.Equal(0, exitCode);
    }

    [Fact]
    public async Task Probe_UnhealthyDeployer_ReturnsOne()
    {
        var (app, address) = await LocalRegistryLoopback.StartAsync(a => a.MapGet("/healthz", () => Results.StatusCode(503)));
        await using var healthz = app;

        var exitCode = await DeployerCommandLine.InvokeAsync(["probe", "--url", address.ToString()], TextWriter.Null, TextWriter.Null);

        Assert.Equal(1, exitCode);
    }

    [Fact]
    public async Task Probe_NothingListening_ReturnsOne()
    {
        // Arrange: a loopback port that was free a moment ago.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        // Act
        var exitCode = await DeployerCommandLine.InvokeAsync(["probe", "--url", $"http://127.0.0.1:{port}"], TextWriter.Null, TextWriter.Null);

        // Assert
        Assert.Equal(1, exitCode);
    }

    [Theory]
    [InlineData("'--bogus'", "probe", "--bogus")]
    [InlineData("--url", "probe", "--url", "not a url")]
    [InlineData("--url", "probe", "--url")]
    [InlineData("'prob'", "prob")]
    [InlineData("'--verbose'", "run", "--verbose")]
    [InlineData("'--Deployer:Mode'", "--Deployer:Mode")]
    public async Task InvokeAsync_BadArguments_ExitTwoAndNameTheOption(string named, params string[] args)
    {
        using var error = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(args, TextWriter.Null, error);

        Assert.Equal(2, exitCode);
        Assert.Contains(named, error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--url", "probe", "--help")]
    [InlineData("probe", "--help")]
    [InlineData("Runs the deployer", "run", "-h")]
    public async Task InvokeAsync_Help_ExitsZeroAndDescribes(string described, params string[] args)
    {
        using var output = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(args, output, TextWriter.Null);

        Assert.Equal(0, exitCode);
        Assert.Contains(described, output.ToString(), StringComparison.Ordinal);
    }
}
