using System.Globalization;
using System.Text.RegularExpressions;
using StudentPerformance.Bench.Modes;

namespace StudentPerformance.Bench.Rollout;

/// <summary>h2load's counts over a stretch of time: HTTP/2 requests, and those that failed or errored.</summary>
/// <remarks><c>EmptyRuns</c>: runs that made no request at all (h2load could not connect).</remarks>
internal sealed record H2loadCounts(long Requests, long Succeeded, long Failed, long Errored, long Timeout, double Seconds, int Runs, int EmptyRuns)
{
    public static H2loadCounts None { get; } = new(0, 0, 0, 0, 0, 0, 0, 0);

    public double RequestsPerSecond => Seconds > 0 ? Math.Round(Succeeded / Seconds, 1) : 0;

    /// <summary>Requests that did not succeed, for whatever reason (h2load's failed, errored and timeout).</summary>
    public long NotSucceeded => Requests - Succeeded;

    public H2loadCounts Add(H2loadCounts other) => new(
        Requests + other.Requests, Succeeded + other.Succeeded, Failed + other.Failed, Errored + other.Errored,
        Timeout + other.Timeout, Seconds + other.Seconds, Runs + other.Runs, EmptyRuns + other.EmptyRuns);
}

/// <summary>
/// Predict through one address with nghttp2's h2load for as long as a rollout lasts: back-to-back timed runs
/// (<c>-D</c>), because h2load reports only when a run ends. Each run opens its connections anew, so a switch
/// also meets connections that are seconds old. The rate is capped (<c>--rps</c>) so that the load does not starve
/// the deployer and the clients on a small machine. h2load sees HTTP status only: a gRPC error with status 200
/// counts as succeeded; resets, refused connections and timeouts count as failed, errored or timeout.
/// </summary>
internal sealed partial class H2loadAcross : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<H2loadCounts> _loop;

    private H2loadAcross(Uri address, string frameFile, int requestsPerSecond, TimeSpan chunk)
    {
        _loop = Task.Run(() => LoopAsync(address, frameFile, requestsPerSecond, chunk, _stop.Token));
    }

    /// <summary>Starts runs of <paramref name="chunk"/> each; <paramref name="requestsPerSecond"/> is the total rate (0: unbounded).</summary>
    public static H2loadAcross Start(Uri address, string frameFile, int requestsPerSecond, TimeSpan chunk) =>
        new(address, frameFile, requestsPerSecond, chunk);

    /// <summary>Stops after the run in progress ends; returns the counts of all runs.</summary>
    public async Task<H2loadCounts> StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        return await _loop.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_loop.IsCompleted)
        {
            await StopAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private static async Task<H2loadCounts> LoopAsync(Uri address, string frameFile, int requestsPerSecond, TimeSpan chunk, CancellationToken stop)
    {
        var url = new Uri(address, "/studentperformance.v1.Predictor/Predict").ToString();
        List<string> args = ["-c", "2", "-m", "8", "-D", chunk.TotalSeconds.ToString("0", CultureInfo.InvariantCulture),
            "-d", frameFile, "-H", "content-type: application/grpc", "-H", "te: trailers"];
        if (requestsPerSecond > 0)
        {
            args.AddRange(["--rps", Math.Max(1, requestsPerSecond / 2).ToString(CultureInfo.InvariantCulture)]);
        }

        args.Add(url);
        var total = H2loadCounts.None;
        while (!stop.IsCancellationRequested)
        {
            // The run itself is not cancelled: its counts only appear when it ends, within one chunk.
            var started = TimeProvider.System.GetTimestamp();
            var output = await H2loadMode.H2loadAsync(args, CancellationToken.None).ConfigureAwait(false);
            var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
            total = total.Add(Parse(output, seconds));
        }

        return total;
    }

    private static H2loadCounts Parse(string output, double seconds)
    {
        if (RequestsPattern().Match(output) is not { Success: true } m)
        {
            return new H2loadCounts(0, 0, 0, 0, 0, seconds, 1, 1);
        }

        long G(int i) => long.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture);
        return new H2loadCounts(G(1), G(2), G(3), G(4), G(5), seconds, 1, G(1) == 0 ? 1 : 0);
    }

    [GeneratedRegex(@"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout")]
    private static partial Regex RequestsPattern();
}
