using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

public class BakeAndCrashLoopTests
{
    private static readonly ContainerState Running = new("running", true, false, 0, 0, DateTimeOffset.UnixEpoch);
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Bake_ServingThroughout_PassesOnlyWhenTheBakeTimeIsOver()
    {
        var bake = new BakeWatch(TimeSpan.FromMinutes(5), 0, _time);

        Assert.Equal(GateStatus.Pending, bake.Observe(serving: true, Running).Status);
        _time.Advance(TimeSpan.FromMinutes(4.9));
        Assert.Equal(GateStatus.Pending, bake.Observe(serving: true, Running).Status);
        _time.Advance(TimeSpan.FromMinutes(0.1));
        Assert.Equal(GateStatus.Passed, bake.Observe(serving: true, Running).Status);
    }

    [Fact]
    public void Bake_OneFailedProbe_IsForgiven_TwoInARowFail()
    {
        var bake = new BakeWatch(TimeSpan.FromMinutes(5), 0, _time);

        Assert.Equal(GateStatus.Pending, bake.Observe(serving: false, Running).Status);
        Assert.Equal(GateStatus.Pending, bake.Observe(serving: true, Running).Status);
        Assert.Equal(GateStatus.Pending, bake.Observe(serving: false, Running).Status);
        var verdict = bake.Observe(serving: false, Running);

        Assert.Equal(GateStatus.Failed, verdict.Status);
        Assert.Contains("2 health checks in a row", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Bake_ARestart_FailsAtOnceEvenWhileServing()
    {
        var bake = new BakeWatch(TimeSpan.FromMinutes(5), 2, _time);

        var verdict = bake.Observe(serving: true, Running with { RestartCount = 3 });

        Assert.Equal(GateStatus.Failed, verdict.Status);
        Assert.Contains("restarted 1 time(s)", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Bake_AnExit_FailsAtOnce()
    {
        var bake = new BakeWatch(TimeSpan.FromMinutes(5), 0, _time);

        var verdict = bake.Observe(serving: false, new ContainerState("exited", false, false, 0, 124, DateTimeOffset.UnixEpoch));

        Assert.Equal(GateStatus.Failed, verdict.Status);
        Assert.Contains("exit code 124", verdict.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CrashLoop_RestartsWithinTheWindow_AreALoop_SpreadOutTheyAreNot()
    {
        var watch = new CrashLoopWatch(TimeSpan.FromMinutes(10), 3, _time);

        Assert.False(watch.Observe("a", 0));
        _time.Advance(TimeSpan.FromMinutes(6));
        Assert.False(watch.Observe("a", 2));
        _time.Advance(TimeSpan.FromMinutes(6));
        // The first observation left the window: 3 restarts ago is now 2 (from 2 to 4 within it).
        Assert.False(watch.Observe("a", 4));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(watch.Observe("a", 5));
        Assert.Equal(3, watch.RecentRestarts);
    }

    [Fact]
    public void CrashLoop_ANewContainer_StartsItsOwnCount()
    {
        var watch = new CrashLoopWatch(TimeSpan.FromMinutes(10), 3, _time);
        watch.Observe("old", 0);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(watch.Observe("old", 3));

        Assert.False(watch.Observe("new", 3));
        Assert.Equal(0, watch.RecentRestarts);
    }
}
