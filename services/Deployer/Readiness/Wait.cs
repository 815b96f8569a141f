namespace StudentPerformance.Deployer.Readiness;

/// <summary>Polls a condition until it holds or the timeout passes.</summary>
public static class Wait
{
    /// <summary>
    /// True as soon as <paramref name="condition"/> returns true; false when <paramref name="timeout"/> passes first.
    /// An exception from the condition counts as "not yet".
    /// </summary>
    public static async Task<bool> UntilAsync(
        Func<CancellationToken, Task<bool>> condition,
        TimeSpan interval,
        TimeSpan timeout,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(time);
        var start = time.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (await condition(cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Connection refused while the container starts is the normal "not yet".
            }

            if (time.GetElapsedTime(start) + interval > timeout)
            {
                return false;
            }

            await Task.Delay(interval, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
