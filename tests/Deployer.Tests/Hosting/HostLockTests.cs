using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Hosting;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Hosting;

public sealed class HostLockTests : IDisposable
{
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("sp-deployer-lock-").FullName;

    [Fact]
    public async Task StartAsync_SecondInstance_RefusesToStart()
    {
        var options = Options.Create(new DeployerOptions { StateDirectory = _stateDirectory });
        using var first = new HostLock(options);
        using var second = new HostLock(options);
        await first.StartAsync(CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync(CancellationToken.None));

        Assert.Contains("Another deployer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_AfterTheFirstStopped_Succeeds()
    {
        var options = Options.Create(new DeployerOptions { StateDirectory = _stateDirectory });
        using var first = new HostLock(options);
        using var second = new HostLock(options);
        await first.StartAsync(CancellationToken.None);
        await first.StopAsync(CancellationToken.None);

        await second.StartAsync(CancellationToken.None);

        Assert.True(File.Exists(second.Path));
    }

    public void Dispose() => Directory.Delete(_stateDirectory, recursive: true);
}
