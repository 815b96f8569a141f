using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Load;
using StudentPerformance.V1;

namespace StudentPerformance.Bench.Modes;

/// <summary>
/// <c>predict</c>: closed-loop Predict calls against a running predictor; with <c>--compare-echo</c>, the same load
/// against the echo server in the same run, and the ratio of the two.
/// </summary>
internal static class PredictMode
{
    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var settings = ReadSettings(options);
        var compare = options.Flag("compare-echo");
        var rounds = options.Int("rounds", 3, 1, 100);
        options.ThrowOnUnknownExcept(Target.OptionNames, RequestMix.OptionNames);
        using var target = await Target.FromOptionsAsync(options, cancellationToken).ConfigureAwait(false);
        var address = target.Address;
        settings = settings with { Address = address, ServerPid = target.Pid };
        var students = await RequestMix.FromOptionsAsync(options, address, 4096, cancellationToken).ConfigureAwait(false);

        var requests = students.Select(s => new PredictRequest { Student = s }).ToArray();
        if (!compare)
        {
            var only = await ClosedLoop.RunAsync(settings, Call(requests), cancellationToken).ConfigureAwait(false);
            return Finish(settings, 1, address, students.Length, [only.Summarize("predict")], null, RssGrowth.From(only.Timeline), only.Failed);
        }

        // Predictor and echo in alternating rounds, each round a share of the duration: the machine is shared, and
        // a change in its load during the run then touches both sides alike.
        var (child, echoAddress) = await EchoMode.StartChildAsync((settings.Warmup + settings.Duration) * 2 + TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        using (child)
        {
            var round = settings with { Duration = settings.Duration / rounds };
            var echoSettings = round with { Address = echoAddress, ServerPid = child.Pid };
            var predictRuns = new List<LoadResult>();
            var echoRuns = new List<LoadResult>();
            for (var i = 0; i < rounds; i++)
            {
                // Full warm-up once per server; later rounds only re-open their connections.
                var warmup = i == 0 ? settings.Warmup : TimeSpan.FromSeconds(Math.Min(0.5, settings.Warmup.TotalSeconds));
                predictRuns.Add(await ClosedLoop.RunAsync(round with { Warmup = warmup }, Call(requests), cancellationToken).ConfigureAwait(false));
                echoRuns.Add(await ClosedLoop.RunAsync(echoSettings with { Warmup = warmup }, Call(requests), cancellationToken).ConfigureAwait(false));
            }

            var predict = LoadResult.Merge(predictRuns);
            var echo = LoadResult.Merge(echoRuns);
            return Finish(settings, rounds, address, students.Length, [predict.Summarize("predict"), echo.Summarize("echo")], echo.Summarize("echo"),
                null, predict.Failed);
        }
    }

    private static int Finish(LoadSettings settings, int rounds, Uri address, int mixSize, List<Summary> rows, Summary? echo, RssGrowth? growth, long failed)
    {
        Report.Table(rows);
        var ratios = echo is null ? null : new Ratios(
            Math.Round(rows[0].RequestsPerSecond / echo.RequestsPerSecond, 3),
            Math.Round(rows[0].P50Us / echo.P50Us, 3),
            Math.Round(rows[0].P99Us / echo.P99Us, 3));
        if (ratios is not null)
        {
            Console.WriteLine($"predict/echo: throughput {ratios.Throughput:0.###}x, p50 {ratios.P50:0.###}x, p99 {ratios.P99:0.###}x");
        }

        if (growth is not null)
        {
            Console.WriteLine($"server RSS: {growth.RssAtFirstMb} MB at {growth.FirstCompleted:N0} requests, " +
                              $"{growth.RssAtLastMb} MB at {growth.LastCompleted:N0} (change {growth.GrowthMb} MB from the first {growth.WindowRequests:N0} requests to the end)");
        }

        Report.JsonLine(new
        {
            mode = "predict",
            date = Report.Now(),
            address = address.ToString(),
            mix = mixSize == 1 ? "fixed" : "random",
            warmup_s = settings.Warmup.TotalSeconds,
            rounds = echo is null ? 1 : rounds,
            predict = rows[0],
            echo,
            ratio = ratios,
            rss = growth,
        });
        return failed > 0 ? 1 : 0;
    }

    /// <summary>The load options; the address and pid come from <see cref="Target"/>.</summary>
    public static LoadSettings ReadSettings(Options options, int connections = 2, int perConnection = 16) => new(
        new Uri("http://127.0.0.1:8000"),
        options.Int("connections", connections, 1, 256),
        options.Int("per-connection", perConnection, 1, 1024),
        options.Seconds("duration", 10),
        options.Seconds("warmup", 3, 600),
        options.Int("requests", 0, 0, 100_000_000),
        0,
        options.Seconds("sample-every", 0, 60));

    private static ClosedLoop.Call Call(PredictRequest[] requests)
    {
        if (requests.Length == 1)
        {
            var only = requests[0];
            return (client, _, _, options) => client.PredictAsync(only, options).ResponseAsync;
        }

        return (client, worker, sequence, options) =>
            client.PredictAsync(requests[(int)((sequence + worker * 7919L) % requests.Length)], options).ResponseAsync;
    }

    private sealed record Ratios(double Throughput, double P50, double P99);
}

/// <summary>Server RSS near the start of a long run and at its end: the check that memory does not grow with traffic.</summary>
internal sealed record RssGrowth(long FirstCompleted, double RssAtFirstMb, long LastCompleted, double RssAtLastMb, long WindowRequests, double GrowthMb)
{
    /// <summary>The first sample after a tenth of the requests (100k of a million) against the last sample.</summary>
    public static RssGrowth? From(IReadOnlyList<TimelinePoint> timeline)
    {
        if (timeline.Count < 2 || timeline[^1].ServerRssBytes == 0)
        {
            return null;
        }

        var last = timeline[^1];
        var window = last.Completed / 10;
        var first = timeline.FirstOrDefault(p => p.Completed >= window);
        if (first == default)
        {
            return null;
        }

        static double Mb(long b) => Math.Round(b / 1048576.0, 1);
        return new RssGrowth(first.Completed, Mb(first.ServerRssBytes), last.Completed, Mb(last.ServerRssBytes), window,
            Mb(last.ServerRssBytes - first.ServerRssBytes));
    }
}
