using System.Globalization;

namespace StudentPerformance.Bench.Cli;

/// <summary>What the edge modes read of a running haproxy (master-worker mode) and how they wait on it.</summary>
internal static class HaproxyProcesses
{
    private static readonly TimeProvider Clock = TimeProvider.System;

    /// <summary>The master's worker processes, from /proc: a reload replaces them.</summary>
    public static HashSet<int> Workers(int master)
    {
        var workers = new HashSet<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                try
                {
                    var ppid = File.ReadLines(Path.Combine(dir, "status")).FirstOrDefault(l => l.StartsWith("PPid:", StringComparison.Ordinal));
                    if (ppid is not null && int.Parse(ppid[5..].Trim(), CultureInfo.InvariantCulture) == master)
                    {
                        workers.Add(pid);
                    }
                }
                catch (IOException)
                {
                    // Gone meanwhile.
                }
            }
        }

        return workers;
    }

    /// <summary>True as soon as <paramref name="condition"/> holds, polled every <paramref name="interval"/>; false after <paramref name="timeout"/>.</summary>
    public static async Task<bool> WaitAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan timeout, TimeSpan interval, CancellationToken cancellationToken)
    {
        var started = Clock.GetTimestamp();
        while (Clock.GetElapsedTime(started) < timeout)
        {
            if (await condition(cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
        }

        return false;
    }
}
