using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Rollout;

namespace StudentPerformance.Deployer.Hosting;

/// <summary>
/// One deployer per host: an exclusive lock on <c>deployer.lock</c> in the state directory. On Linux .NET takes it
/// with flock, so the kernel releases it when the process dies, even by SIGKILL.
/// </summary>
internal sealed class HostLock(IOptions<DeployerOptions> options) : IHostedService, IDisposable
{
    private FileStream? _lock;

    public string Path { get; } = System.IO.Path.Combine(options.Value.StateDirectory, "deployer.lock");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.Value.StateDirectory);
        try
        {
            _lock = new FileStream(Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException(
                $"Another deployer holds {Path} (Deployer:StateDirectory); only one may manage this host.", ex);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _lock?.Dispose();
        _lock = null;
    }
}
