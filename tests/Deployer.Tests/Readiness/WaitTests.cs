using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Deployer.Readiness;

namespace Deployer.Tests.Readiness;

public class WaitTests
{
    [Fact]
    public async Task UntilAsync_ConditionBecomesTrue_ReturnsTrue()
    {
        var time = new FakeTimeProvider();
        var calls = 0;

        var waiting = Wait.UntilAsync(_ => Task.FromResult(Interlocked.Increment(ref calls) == 3), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), time, CancellationToken.None);
        while (!waiting.IsCompleted)
        {
            // One interval at a time, each after the waiter's next check: a loaded machine may run the waiter late,
            // and moving the clock on regardless would run out its timeout before the third check.
            var checks = Volatile.Read(ref calls);
            time.Advance(TimeSpan.FromSeconds(1));
            var moved = System.Diagnostics.Stopwatch.StartNew();
            while (!waiting.IsCompleted && Volatile.Read(ref calls) == checks && moved.Elapsed < TimeSpan.FromSeconds(2))
            {
                await Task.Delay(5);
            }
        }

        Assert.True(await waiting);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task UntilAsync_ConditionThrowsThenTimesOut_ReturnsFalse()
    {
        var time = new FakeTimeProvider();

        var waiting = Wait.UntilAsync(_ => throw new HttpRequestException("refused"), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), time, CancellationToken.None);
        while (!waiting.IsCompleted)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Yield();
        }

        Assert.False(await waiting);
    }

    [Fact]
    public void Judge_ScoreOutOfRangeOrNaN_Fails()
    {
        Assert.True(GoldenCheck.Judge(71.5, 0, 100).Passed);
        Assert.False(GoldenCheck.Judge(-3, 0, 100).Passed);
        Assert.False(GoldenCheck.Judge(double.NaN, 0, 100).Passed);
        Assert.False(GoldenCheck.Judge(double.PositiveInfinity, 0, 100).Passed);
    }
}
