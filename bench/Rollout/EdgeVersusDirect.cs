using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Load;
using StudentPerformance.Bench.Modes;
using StudentPerformance.V1;

namespace StudentPerformance.Bench.Rollout;

/// <summary>h2load throughput through the edge vs direct to the predictor, in alternating rounds.</summary>
internal sealed record EdgeThroughput(H2loadResult Direct, H2loadResult Edge, double Ratio);

/// <summary>p50 with one grpc-dotnet call in flight through the edge vs direct, in alternating rounds.</summary>
internal sealed record EdgeLatency(Summary Direct, Summary Edge, double AddedP50Us);

/// <summary>
/// The edge's cost on Predict (issue 9's targets: throughput through the edge at least 0.7x direct, added p50 at most
/// 100 us), measured against one predictor: <c>direct</c> is its own loopback port, <c>edge</c>
/// the edge's public port in front of it. Rounds alternate, so a change in the shared machine's load touches both.
/// </summary>
internal static class EdgeVersusDirect
{
    public static async Task<EdgeThroughput> ThroughputAsync(Uri edge, Uri direct, int serverPid, string work, int requests, int rounds, CancellationToken cancellationToken)
    {
        var file = Path.Combine(work, "predict.grpc");
        await File.WriteAllBytesAsync(file, H2loadMode.Frame(new PredictRequest { Student = RequestMix.Fixed() }), cancellationToken).ConfigureAwait(false);
        var run = new H2loadMode.H2loadRun(file, requests, 2, 16, TimeSpan.FromSeconds(2));
        var directRounds = new List<H2loadResult>();
        var edgeRounds = new List<H2loadResult>();
        for (var i = 0; i < rounds; i++)
        {
            var current = i == 0 ? run : run with { Warmup = TimeSpan.Zero };
            directRounds.Add(await current.RunAsync(direct, serverPid, cancellationToken).ConfigureAwait(false));
            edgeRounds.Add(await current.RunAsync(edge, serverPid, cancellationToken).ConfigureAwait(false));
        }

        var a = H2loadResult.Merge(directRounds);
        var b = H2loadResult.Merge(edgeRounds);
        Report.Print(["run", "requests", "succeeded", "req/s", "mean us", "srv us/call"], [a.Row("h2load -> predictor"), b.Row("h2load -> edge -> predictor")]);
        var ratio = Math.Round(b.RequestsPerSecond / a.RequestsPerSecond, 3);
        Console.WriteLine(FormattableString.Invariant($"throughput through the edge / direct: {ratio}x (target >= 0.7x)"));
        return new EdgeThroughput(a, b, ratio);
    }

    public static async Task<EdgeLatency> LatencyAsync(Uri edge, Uri direct, int serverPid, TimeSpan seconds, int rounds, CancellationToken cancellationToken)
    {
        var request = new PredictRequest { Student = RequestMix.Fixed() };
        var directRuns = new List<LoadResult>();
        var edgeRuns = new List<LoadResult>();
        for (var i = 0; i < rounds; i++)
        {
            foreach (var (address, runs) in new[] { (direct, directRuns), (edge, edgeRuns) })
            {
                var settings = new LoadSettings(address, 1, 1, seconds, i == 0 ? TimeSpan.FromSeconds(1) : TimeSpan.Zero, 0, serverPid, TimeSpan.Zero);
                runs.Add(await ClosedLoop.RunAsync(settings, (c, _, _, o) => c.PredictAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false));
            }
        }

        var a = LoadResult.Merge(directRuns).Summarize("predict 1x1 -> predictor");
        var b = LoadResult.Merge(edgeRuns).Summarize("predict 1x1 -> edge -> predictor");
        Report.Table([a, b]);
        var added = Math.Round(b.P50Us - a.P50Us, 1);
        Console.WriteLine(FormattableString.Invariant($"added p50 through the edge: {added} us (target <= 100 us)"));
        return new EdgeLatency(a, b, added);
    }
}
