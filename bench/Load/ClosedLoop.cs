using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using StudentPerformance.V1;

namespace StudentPerformance.Bench.Load;

/// <summary>
/// Closed-loop load: <c>Connections</c> channels, each with its own <see cref="SocketsHttpHandler"/> (so its own
/// HTTP/2 connection), and <c>PerConnection</c> workers per channel that each keep exactly one call in flight.
/// Workers record into their own histogram; nothing is shared on the hot path except one counter.
/// </summary>
internal static class ClosedLoop
{
    private const int WarmingUp = 0;
    private const int Measuring = 1;
    private const int Stopped = 2;

    /// <summary>One call. <paramref name="sequence"/> lets the caller cycle through pre-built requests.</summary>
    public delegate Task Call(Predictor.PredictorClient client, int worker, long sequence, CallOptions options);

    public static GrpcChannel CreateChannel(Uri address) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                // One handler per channel gives one connection per channel; more streams than the server's
                // limit (100 by default) open a second connection instead of queueing.
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            },
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            MaxSendMessageSize = 64 * 1024 * 1024,
        });

    public static async Task<LoadResult> RunAsync(LoadSettings settings, Call call, CancellationToken cancellationToken)
    {
        var channels = Enumerable.Range(0, settings.Connections).Select(_ => CreateChannel(settings.Address)).ToList();
        try
        {
            using var state = new State(settings.Requests);
            var workers = new List<Worker>();
            var tasks = new List<Task>();
            for (var c = 0; c < settings.Connections; c++)
            {
                var client = new Predictor.PredictorClient(channels[c]);
                for (var m = 0; m < settings.PerConnection; m++)
                {
                    var worker = new Worker(workers.Count);
                    workers.Add(worker);
                    tasks.Add(Task.Run(() => worker.RunAsync(client, call, state), CancellationToken.None));
                }
            }

            var warmupEnd = TimeProvider.System.GetTimestamp() + (long)(settings.Warmup.TotalSeconds * TimeProvider.System.TimestampFrequency);
            while (TimeProvider.System.GetTimestamp() < warmupEnd && !tasks.Any(t => t.IsCompleted))
            {
                await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
            }

            var start = Snapshot.Take(settings.ServerPid);
            Volatile.Write(ref state.Phase, Measuring);
            var timeline = new List<TimelinePoint>();
            var deadline = start.Timestamp + (long)(settings.Duration.TotalSeconds * TimeProvider.System.TimestampFrequency);
            var nextSample = start.Timestamp;
            while (!state.Done && TimeProvider.System.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested
                   && !tasks.Any(t => t.IsCompleted))
            {
                if (TimeProvider.System.GetTimestamp() >= nextSample && settings.SampleEvery > TimeSpan.Zero)
                {
                    timeline.Add(TimelinePoint.Take(start, Interlocked.Read(ref state.Completed), settings.ServerPid));
                    nextSample += (long)(settings.SampleEvery.TotalSeconds * TimeProvider.System.TimestampFrequency);
                }

                await Task.Delay(5, CancellationToken.None).ConfigureAwait(false);
            }

            var end = Snapshot.Take(settings.ServerPid);
            Volatile.Write(ref state.Phase, Stopped);
            var all = Task.WhenAll(tasks);
            if (await Task.WhenAny(all, Task.Delay(settings.CallDeadline, CancellationToken.None)).ConfigureAwait(false) != all)
            {
                await state.Abort.CancelAsync().ConfigureAwait(false);
            }

            await all.ConfigureAwait(false);
            if (settings.SampleEvery > TimeSpan.Zero)
            {
                timeline.Add(TimelinePoint.Take(start, Interlocked.Read(ref state.Completed), settings.ServerPid));
            }

            var histogram = new LatencyHistogram();
            var errors = new Dictionary<StatusCode, long>();
            foreach (var w in workers)
            {
                histogram.Add(w.Histogram);
                foreach (var (code, n) in w.Errors)
                {
                    errors[code] = errors.GetValueOrDefault(code) + n;
                }
            }

            return new LoadResult(settings, histogram, errors, start, end, timeline);
        }
        finally
        {
            foreach (var ch in channels)
            {
                ch.Dispose();
            }
        }
    }

    private sealed class State(long limit) : IDisposable
    {
        public int Phase = WarmingUp;
        public long Completed;

        public CancellationTokenSource Abort { get; } = new();

        public bool Done => limit > 0 && Interlocked.Read(ref Completed) >= limit;

        /// <summary>Counts one measured call; false once the request budget is spent.</summary>
        public bool Count() => Interlocked.Increment(ref Completed) <= limit || limit == 0;

        public void Dispose() => Abort.Dispose();
    }

    private sealed class Worker(int index)
    {
        public LatencyHistogram Histogram { get; } = new();

        public Dictionary<StatusCode, long> Errors { get; } = [];

        public async Task RunAsync(Predictor.PredictorClient client, Call call, State state)
        {
            // No per-call deadline: Grpc.Net.Client arms a timer for each, which would be client cost we measure.
            // A hung call is cut by the run-wide abort token instead.
            var options = new CallOptions(cancellationToken: state.Abort.Token);
            long sequence = 0;
            while (true)
            {
                var phase = Volatile.Read(ref state.Phase);
                if (phase == Stopped || state.Done)
                {
                    return;
                }

                var began = TimeProvider.System.GetTimestamp();
                StatusCode? failed = null;
                try
                {
                    await call(client, index, sequence++, options).ConfigureAwait(false);
                }
                catch (RpcException e)
                {
                    failed = e.StatusCode;
                }
                catch (OperationCanceledException)
                {
                    failed = StatusCode.Cancelled;
                }

                var ended = TimeProvider.System.GetTimestamp();
                if (phase != Measuring || Volatile.Read(ref state.Phase) != Measuring || !state.Count())
                {
                    continue;
                }

                if (failed is { } code)
                {
                    Errors[code] = Errors.GetValueOrDefault(code) + 1;
                }
                else
                {
                    Histogram.Record((long)((ended - began) * (1e9 / TimeProvider.System.TimestampFrequency)));
                }
            }
        }
    }
}

/// <summary>Clocks and counters at one instant: wall time, the server's CPU and memory, the client's CPU, the machine's.</summary>
internal readonly record struct Snapshot(long Timestamp, ProcessSample? Server, double ClientCpuSeconds, long MachineBusy, long MachineTotal)
{
    public static Snapshot Take(int serverPid)
    {
        var (busy, total) = ProcessSample.ReadMachine();
        return new Snapshot(
            TimeProvider.System.GetTimestamp(),
            serverPid > 0 ? ProcessSample.Read(serverPid) : null,
            Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,
            busy,
            total);
    }
}

/// <summary>The server's memory and the requests completed so far, sampled during the run.</summary>
internal readonly record struct TimelinePoint(double Seconds, long Completed, long ServerRssBytes, double ServerCpuSeconds)
{
    public static TimelinePoint Take(Snapshot start, long completed, int serverPid)
    {
        var server = serverPid > 0 ? ProcessSample.Read(serverPid) : null;
        return new TimelinePoint(
            (TimeProvider.System.GetTimestamp() - start.Timestamp) / (double)TimeProvider.System.TimestampFrequency,
            completed,
            server?.RssBytes ?? 0,
            server?.CpuSeconds ?? 0);
    }
}
