using Deployer.Tests.Support;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

/// <summary>What the admin API's commands may do: <c>Deployer:Mode</c> and the pause hold, and a full queue says so.</summary>
public sealed class AdminCommandTests : IDisposable
{
    private readonly PlanRig _rig = new();
    private readonly DeployerStatus _status = new("image:latest", "Deploy");

    [Fact]
    public void Refusal_RollbackInMonitorMode_IsRefusedNamingTheMode()
    {
        var worker = _rig.Worker(DeployerMode.Monitor, _status);

        Assert.Contains("Deployer:Mode is Monitor", worker.Refusal(DeployerCommand.Rollback), StringComparison.Ordinal);
        Assert.Null(worker.Refusal(DeployerCommand.CheckNow));
    }

    [Fact]
    public void Refusal_RollbackWhilePaused_IsRefused()
    {
        var worker = _rig.Worker(DeployerMode.Deploy, _status);
        Assert.Null(worker.Refusal(DeployerCommand.Rollback));

        _status.Update(s => s with { Paused = true });

        Assert.Contains("paused", worker.Refusal(DeployerCommand.Rollback), StringComparison.Ordinal);
    }

    [Fact]
    public void Enqueue_QueueFull_IsRefusedInsteadOfDroppingACommand()
    {
        var worker = _rig.Worker(DeployerMode.Deploy, _status);
        var accepted = Enumerable.Range(0, 8).Select(_ => worker.Enqueue(DeployerCommand.CheckNow)).ToList();

        var ninth = worker.Enqueue(DeployerCommand.Rollback);

        Assert.All(accepted, Assert.True);
        Assert.False(ninth);
    }

    [Fact]
    public async Task Pause_SurvivesARestartOfTheDeployer()
    {
        _rig.State.SetPaused(true);
        var worker = _rig.Worker(DeployerMode.Deploy, _status);

        await worker.StartAsync(CancellationToken.None);
        await worker.StopAsync(CancellationToken.None);

        Assert.True(_status.Paused);
    }

    public void Dispose() => _rig.Dispose();
}
