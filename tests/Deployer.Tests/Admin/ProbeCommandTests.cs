using System.Net;
using System.Net.Sockets;
using StudentPerformance.Deployer.Admin;

namespace StudentPerformance.Deployer.Tests.Admin;

public class ProbeCommandTests
{
    [Fact]
    public async Task RunAsync_NothingListening_ReturnsOne()
    {
        // Arrange: a loopback port that was free a moment ago.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        // Act
        var exitCode = await ProbeCommand.RunAsync(["--url", $"http://127.0.0.1:{port}"]);

        // Assert
        Assert.Equal(1, exitCode);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--url", "not a url")]
    public async Task RunAsync_BadArguments_ReturnsTwo(params string[] args)
    {
        var exitCode = await ProbeCommand.RunAsync(args);

        Assert.Equal(2, exitCode);
    }
}
