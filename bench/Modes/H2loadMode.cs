using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Load;
using StudentPerformance.V1;

namespace StudentPerformance.Bench.Modes;

/// <summary>
/// <c>h2load</c>: drives Predict with nghttp2's h2load (C, one thread) sending a fixed gRPC frame, then the C# client
/// with the same connections and streams, so that the two can be compared. With <c>--compare-echo</c>, h2load also
/// drives the echo server, which gives the predict/echo ratio with the lightest client available.
/// </summary>
internal static partial class H2loadMode
{
    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var requests = options.Int("requests", 200_000, 1, 10_000_000);
        var clients = options.Int("connections", 2, 1, 256);
        var streams = options.Int("per-connection", 16, 1, 1024);
        var warmup = options.Seconds("warmup", 3, 600);
        var frameOut = options.StringOrNull("frame-out");
        var skipClient = options.Flag("no-client");
        var compare = options.Flag("compare-echo");
        var rounds = options.Int("rounds", 3, 1, 100);
        options.ThrowOnUnknownExcept(Target.OptionNames);
        using var target = await Target.FromOptionsAsync(options, cancellationToken).ConfigureAwait(false);
        var (address, pid) = (target.Address, target.Pid);

        var frame = Frame(new PredictRequest { Student = RequestMix.Fixed() });
        var file = frameOut ?? Path.Combine(Path.GetTempPath(), $"bench-predict-{Environment.ProcessId}.grpc");
        await File.WriteAllBytesAsync(file, frame, cancellationToken).ConfigureAwait(false);
        try
        {
            // With --compare-echo, predictor and echo alternate in rounds, so a change in the shared machine's load
            // during the run touches both alike.
            var run = new H2loadRun(file, compare ? requests / rounds : requests, clients, streams, warmup);
            (ChildProcess Child, Uri Address)? echoServer = compare ? await EchoMode.StartChildAsync(TimeSpan.FromMinutes(20)).ConfigureAwait(false) : null;
            H2loadResult predict;
            H2loadResult? echo = null;
            try
            {
                var predictRounds = new List<H2loadResult>();
                var echoRounds = new List<H2loadResult>();
                for (var i = 0; i < (compare ? rounds : 1); i++)
                {
                    var current = i == 0 ? run : run with { Warmup = TimeSpan.Zero };
                    predictRounds.Add(await current.RunAsync(address, pid, cancellationToken).ConfigureAwait(false));
                    if (echoServer is { } e)
                    {
                        echoRounds.Add(await current.RunAsync(e.Address, e.Child.Pid, cancellationToken).ConfigureAwait(false));
                    }
                }

                predict = H2loadResult.Merge(predictRounds);
                echo = echoRounds.Count > 0 ? H2loadResult.Merge(echoRounds) : null;
            }
            finally
            {
                echoServer?.Child.Dispose();
            }

            var rows = new List<List<string>> { predict.Row("h2load -> predictor") };
            if (echo is not null)
            {
                rows.Add(echo.Row("h2load -> echo"));
            }

            Report.Print(["run", "requests", "succeeded", "req/s", "mean us", "srv us/call"], rows);

            Summary? client = null;
            if (!skipClient)
            {
                var seconds = Math.Clamp(requests / Math.Max(predict.RequestsPerSecond, 1), 2, 60);
                var settings = new LoadSettings(address, clients, streams, TimeSpan.FromSeconds(seconds), warmup, 0, pid, TimeSpan.Zero);
                var only = new PredictRequest { Student = RequestMix.Fixed() };
                var result = await ClosedLoop.RunAsync(settings, (c, _, _, o) => c.PredictAsync(only, o).ResponseAsync, cancellationToken).ConfigureAwait(false);
                client = result.Summarize("grpc-dotnet -> predictor");
                Report.Table([client]);
                Console.WriteLine(FormattableString.Invariant(
                    $"grpc-dotnet client / h2load, same server and settings: {client.RequestsPerSecond / predict.RequestsPerSecond:0.###}x"));
            }

            if (echo is not null)
            {
                Console.WriteLine(FormattableString.Invariant(
                    $"predict/echo under h2load: throughput {predict.RequestsPerSecond / echo.RequestsPerSecond:0.###}x, server CPU per call {Report.F(predict.ServerUsPerCall / echo.ServerUsPerCall)}x"));
            }

            Report.JsonLine(new
            {
                mode = "h2load",
                date = Report.Now(),
                address = address.ToString(),
                connections = clients,
                per_connection = streams,
                predict,
                echo,
                ratio_throughput = echo is null ? (double?)null : Math.Round(predict.RequestsPerSecond / echo.RequestsPerSecond, 3),
                client,
                client_over_h2load = client is null ? (double?)null : Math.Round(client.RequestsPerSecond / predict.RequestsPerSecond, 3),
            });
            return predict.Succeeded == predict.Requests && (echo is null || echo.Succeeded == echo.Requests) ? 0 : 1;
        }
        finally
        {
            if (frameOut is null)
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>A gRPC message as it travels in a DATA frame: uncompressed flag, 4-byte big-endian length, protobuf.</summary>
    public static byte[] Frame(IMessage message)
    {
        var body = message.ToByteArray();
        var frame = new byte[5 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)body.Length);
        body.CopyTo(frame, 5);
        return frame;
    }

    internal sealed record H2loadRun(string File, int Requests, int Clients, int Streams, TimeSpan Warmup)
    {
        public async Task<H2loadResult> RunAsync(Uri address, int pid, CancellationToken cancellationToken)
        {
            var url = new Uri(address, "/studentperformance.v1.Predictor/Predict").ToString();
            string[] common = ["-c", Clients.ToString(CultureInfo.InvariantCulture), "-m", Streams.ToString(CultureInfo.InvariantCulture),
                "-d", File, "-H", "content-type: application/grpc", "-H", "te: trailers", url];
            Console.WriteLine($"h2load -n {Requests} {string.Join(' ', common.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a))}");
            if (Warmup > TimeSpan.Zero)
            {
                await H2loadAsync(["-D", ((int)Math.Ceiling(Warmup.TotalSeconds)).ToString(CultureInfo.InvariantCulture), .. common], cancellationToken).ConfigureAwait(false);
            }

            var before = Snapshot.Take(pid);
            var output = await H2loadAsync(["-n", Requests.ToString(CultureInfo.InvariantCulture), .. common], cancellationToken).ConfigureAwait(false);
            var after = Snapshot.Take(pid);
            var rps = RequestsPerSecondPattern().Match(output) is { Success: true } m
                ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            var succeeded = SucceededPattern().Match(output) is { Success: true } s
                ? long.Parse(s.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            var mean = MeanPattern().Match(output) is { Success: true } t ? t.Groups[1].Value : "-";
            double? serverUs = before.Server is { } b && after.Server is { } a && succeeded > 0
                ? Math.Round((a.CpuSeconds - b.CpuSeconds) * 1e6 / succeeded, 1)
                : null;
            if (succeeded != Requests)
            {
                Console.WriteLine(output);
            }

            return new H2loadResult(Requests, succeeded, rps, mean, serverUs, rps > 0 ? succeeded / rps : 0);
        }
    }

    internal static async Task<string> H2loadAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        using var child = ChildProcess.Start("h2load", args);
        var stdout = child.Process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = child.Process.StandardError.ReadToEndAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromMinutes(5));
        await child.Process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        return await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
    }

    [GeneratedRegex(@"finished in [^,]+, ([0-9.]+) req/s")]
    private static partial Regex RequestsPerSecondPattern();

    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded")]
    private static partial Regex SucceededPattern();

    [GeneratedRegex(@"time for request:\s+\S+\s+\S+\s+(\S+)")]
    private static partial Regex MeanPattern();
}

/// <summary>One h2load run: h2load's own figures and the server's CPU per call from /proc.</summary>
internal sealed record H2loadResult(long Requests, long Succeeded, double RequestsPerSecond, string MeanLatency, double? ServerUsPerCall, double Seconds)
{
    /// <summary>Rounds against one server as one run: counts and time summed, CPU per call weighted by calls.</summary>
    public static H2loadResult Merge(IReadOnlyList<H2loadResult> rounds)
    {
        if (rounds.Count == 1)
        {
            return rounds[0];
        }

        var succeeded = rounds.Sum(r => r.Succeeded);
        var seconds = rounds.Sum(r => r.Seconds);
        double? cpu = rounds.All(r => r.ServerUsPerCall is not null) && succeeded > 0
            ? Math.Round(rounds.Sum(r => r.ServerUsPerCall!.Value * r.Succeeded) / succeeded, 1)
            : null;
        return new H2loadResult(rounds.Sum(r => r.Requests), succeeded, seconds > 0 ? Math.Round(succeeded / seconds, 1) : 0,
            string.Join('/', rounds.Select(r => r.MeanLatency)), cpu, Math.Round(seconds, 2));
    }

    public List<string> Row(string name) =>
        [name, Report.F(Requests), Report.F(Succeeded), Report.F(Math.Round(RequestsPerSecond)), MeanLatency, Report.F(ServerUsPerCall)];
}
