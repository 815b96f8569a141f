using Microsoft.Extensions.Time.Testing;

namespace Deployer.Tests.Support;

/// <summary>
/// Fake time that moves only when the code under test waits: every timer (a <c>Task.Delay(interval, time)</c>)
/// advances the clock to its due time, so a 60 s deadline is reached in microseconds and the elapsed times the
/// code measures are exact. Meant for sequential code such as the rollout plan, with one timer at a time.
/// </summary>
public sealed class SkipAheadTimeProvider : FakeTimeProvider
{
    public SkipAheadTimeProvider()
        : base(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            // Off this thread: the caller (Task.Delay) finishes wiring the timer before it fires.
            ThreadPool.QueueUserWorkItem(_ => Advance(dueTime));
        }

        return timer;
    }
}
