using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

public class HealthGateTests
{
    private static readonly ContainerState Running = new("running", true, false, 0, 0, DateTimeOffset.UnixEpoch);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Observe_ServingForTheWholeWindow_Passes()
    {
        var gate = new HealthGate(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), 0, _time);

        Assert.Equal(GateStatus.Pending, gate.Observe(serving: true, Running).Status);
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(GateStatus.Pending, gate.Observe(serving: true, Running).Status);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(GateStatus.Passed, gate.Observe(serving: true, Running).Status);
    }

    [Fact]
    public void Observe_ServingDropsInsideTheWindow_RestartsTheWindow()
    {
        var gate = new HealthGate(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), 0, _time);
        gate.Observe(serving: true, Running);
        _time.Advance(TimeSpan.FromSeconds(8));
        gate.Observe(serving: false, Running);
        _time.Advance(TimeSpan.FromSeconds(1));
        gate.Observe(serving: true, Running);
        _time.Advance(TimeSpan.FromSeconds(9));

        var verdict = gate.Observe(serving: true, Running);

        Assert.Equal(GateStatus.Pending, verdict.Status);
    }

    [Fact]
    public void Observe_NeverServingUntilTheDeadline_Fails()
    {
        var gate = new HealthGate(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), 0, _time);
        gate.Observe(serving: false, Running);
        _time.Advance(TimeSpan.FromSeconds(30));

        var verdict = gate.Observe(serving: false, Running);

        Assert.Equal(GateStatus.Failed, verdict.Status);
        Assert.Contains("not SERVING within", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Observe_ContainerRestarted_FailsAtOnce()
    {
        var gate = new HealthGate(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), initialRestarts: 0, _time);

        var verdict = gate.Observe(serving: true, Running with { RestartCount = 1 });

        Assert.Equal(GateStatus.Failed, verdict.Status);
        Assert.Contains("restarted", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Observe_ContainerExited_FailsAtOnce()
    {
        var gate = new HealthGate(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), 0, _time);

        var verdict = gate.Observe(serving: false, new ContainerState("exited", false, false, 0, 139, null));

        Assert.Equal(GateStatus.Failed, verdict.Status);
        Assert.Contains("139", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void FirstServingAfter_RecordsTimeToFirstServing()
    {
        var gate = new HealthGate(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), 0, _time);
        gate.Observe(serving: false, Running);
        _time.Advance(TimeSpan.FromMilliseconds(1500));

        gate.Observe(serving: true, Running);

        Assert.Equal(TimeSpan.FromMilliseconds(1500), gate.FirstServingAfter);
    }
}
