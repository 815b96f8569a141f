using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Load;
using StudentPerformance.Bench.Modes;
using StudentPerformance.V1;

namespace StudentPerformance.Bench.Rollout;

/// <summary>
/// h2load throughput through the edge vs direct to the predictor, in alternating rounds. <c>Container</c>: straight
/// to the container's own address (no proxy at all), when known; <c>Ratio</c> is against it then, else against
/// <c>Direct</c> (the published loopback port, through docker's userland proxy).
/// </summary>
internal sealed record EdgeThroughput(H2loadResult Direct, H2loadResult Edge, double Ratio, H2loadResult? Container = null, double? RatioToPublishedPort = null);

/// <summary>p50 with one grpc-dotnet call in flight through the edge vs direct, in alternating rounds (as <see cref="EdgeThroughput"/>).</summary>
internal sealed record EdgeLatency(Summary Direct, Summary Edge, double AddedP50Us, Summary? Container = null, double? AddedP50UsToPublishedPort = null);

/// <summary>
/// The edge's cost on Predict (issue 9's targets: throughput through the edge at least 0.7x direct, added p50 at most
/// 100 us), measured against one predictor: <c>direct</c> is its own loopback port, <c>container</c> (when given) its
/// address on the slots' network, <c>edge</c> the edge's public port in front of it. Rounds alternate, so a change in
/// the shared machine's load touches all of them.
/// </summary>
internal static class EdgeVersusDirect
{
    public static async Task<EdgeThroughput> ThroughputAsync(Uri edge, Uri direct, int serverPid, string work, int requests, int rounds, CancellationToken cancellationToken, Uri? container = null)
    {
        var file = Path.Combine(work, "predict.grpc");
        await File.WriteAllBytesAsync(file, H2loadMode.Frame(new PredictRequest { Student = RequestMix.Fixed() }), cancellationToken).ConfigureAwait(false);
        var run = new H2loadMode.H2loadRun(file, requests, 2, 16, TimeSpan.FromSeconds(2));
        var directRounds = new List<H2loadResult>();
        var edgeRounds = new List<H2loadResult>();
        var containerRounds = new List<H2loadResult>();
        for (var i = 0; i < rounds; i++)
        {
            var current = i == 0 ? run : run with { Warmup = TimeSpan.Zero };
            if (container is not null)
            {
                containerRounds.Add(await current.RunAsync(container, serverPid, cancellationToken).ConfigureAwait(false));
            }

            directRounds.Add(await current.RunAsync(direct, serverPid, cancellationToken).ConfigureAwait(false));
            edgeRounds.Add(await current.RunAsync(edge, serverPid, cancellationToken).ConfigureAwait(false));
        }

        var a = H2loadResult.Merge(directRounds);
        var b = H2loadResult.Merge(edgeRounds);
        var c = container is null ? null : H2loadResult.Merge(containerRounds);
        Report.Print(["run", "requests", "succeeded", "req/s", "mean us", "srv us/call"],
            [.. c is null ? [] : new[] { c.Row("h2load -> container address") }, a.Row("h2load -> published port -> predictor"), b.Row("h2load -> edge -> predictor")]);
        var toPort = Math.Round(b.RequestsPerSecond / a.RequestsPerSecond, 3);
        var ratio = c is null ? toPort : Math.Round(b.RequestsPerSecond / c.RequestsPerSecond, 3);
        Console.WriteLine(FormattableString.Invariant($"throughput through the edge / {(c is null ? "published port" : "container address")}: {ratio}x (target >= 0.7x); / published port: {toPort}x"));
        return new EdgeThroughput(a, b, ratio, c, toPort);
    }

    public static async Task<EdgeLatency> LatencyAsync(Uri edge, Uri direct, int serverPid, TimeSpan seconds, int rounds, CancellationToken cancellationToken, Uri? container = null)
    {
        var request = new PredictRequest { Student = RequestMix.Fixed() };
        var directRuns = new List<LoadResult>();
        var edgeRuns = new List<LoadResult>();
        var containerRuns = new List<LoadResult>();
        var targets = new List<(Uri, List<LoadResult>)> { (direct, directRuns), (edge, edgeRuns) };
        if (container is not null)
        {
            targets.Insert(0, (container, containerRuns));
        }

        for (var i = 0; i < rounds; i++)
        {
            foreach (var (address, runs) in targets)
            {
                var settings = new LoadSettings(address, 1, 1, seconds, i == 0 ? TimeSpan.FromSeconds(1) : TimeSpan.Zero, 0, serverPid, TimeSpan.Zero);
                runs.Add(await ClosedLoop.RunAsync(settings, (c, _, _, o) => c.PredictAsync(request, o).ResponseAsync, cancellationToken).ConfigureAwait(false));
            }
        }

        var a = LoadResult.Merge(directRuns).Summarize("predict 1x1 -> published port -> predictor");
        var b = LoadResult.Merge(edgeRuns).Summarize("predict 1x1 -> edge -> predictor");
        var c = container is null ? null : LoadResult.Merge(containerRuns).Summarize("predict 1x1 -> container address");
        Report.Table(c is null ? [a, b] : [c, a, b]);
        var toPort = Math.Round(b.P50Us - a.P50Us, 1);
        var added = c is null ? toPort : Math.Round(b.P50Us - c.P50Us, 1);
        Console.WriteLine(FormattableString.Invariant($"added p50 through the edge, against the {(c is null ? "published port" : "container address")}: {added} us (target <= 100 us); against the published port: {toPort} us"));
        return new EdgeLatency(a, b, added, c, toPort);
    }
}
