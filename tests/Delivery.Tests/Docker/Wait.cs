namespace StudentPerformance.Delivery.Tests.Docker;

/// <summary>Polls a condition until it holds or a deadline passes. The deadline bounds a hang; it is no assertion on speed.</summary>
public static class Wait
{
    public static async Task UntilAsync(
        Func<Task<bool>> condition, TimeSpan timeout, string what, Func<Task<string>>? diagnostics = null)
    {
        using var deadline = new CancellationTokenSource(timeout);
        Exception? last = null;
        while (!deadline.IsCancellationRequested)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                last = e;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        var details = diagnostics is null ? "" : "\n" + await diagnostics();
        throw new TimeoutException($"{what}: not reached within {timeout}. Last error: {last?.Message ?? "none"}{details}");
    }
}
