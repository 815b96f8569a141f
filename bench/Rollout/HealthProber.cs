using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using StudentPerformance.Bench.Load;
using StudentPerformance.V1;

namespace StudentPerformance.Bench.Rollout;

/// <summary>
/// One probe: when it was sent (ms from the prober's start), whether Health said SERVING, which model answered, and
/// whether a failure was only slowness (the deadline passed) rather than a refusal or NOT_SERVING.
/// </summary>
internal readonly record struct Probe(double AtMs, bool Serving, string? ModelVersion, bool Slow = false)
{
    /// <summary>Down for the user: refused, reset or NOT_SERVING. A probe that only timed out is slow, not down.</summary>
    public bool Down => !Serving && !Slow;
}

/// <summary>
/// Calls grpc.health.v1 Check every <c>interval</c> (20 ms by default) through the published port, and, when it
/// says SERVING, one Predict to learn which model version answers. Each probe has a short deadline, so a hung
/// server counts as down instead of stalling the prober.
/// </summary>
internal sealed class HealthProber : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _deadline;
    private readonly List<Probe> _probes = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly long _started = TimeProvider.System.GetTimestamp();
    private Task? _loop;

    public HealthProber(Uri address, TimeSpan interval, TimeSpan deadline)
    {
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = deadline,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            },
        });
        _interval = interval;
        _deadline = deadline;
    }

    public double NowMs => TimeProvider.System.GetElapsedTime(_started).TotalMilliseconds;

    /// <summary>The probes so far (a copy).</summary>
    public IReadOnlyList<Probe> Probes
    {
        get
        {
            lock (_probes)
            {
                return [.. _probes];
            }
        }
    }

    public Probe? Last
    {
        get
        {
            lock (_probes)
            {
                return _probes.Count == 0 ? null : _probes[^1];
            }
        }
    }

    public void Start() => _loop = Task.Run(LoopAsync);

    /// <summary>One probe now, outside the loop.</summary>
    public async Task<Probe> ProbeOnceAsync(CancellationToken cancellationToken)
    {
        var at = NowMs;
        var health = new Health.HealthClient(_channel);
        var predictor = new Predictor.PredictorClient(_channel);
        try
        {
            var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: Deadline(), cancellationToken: cancellationToken);
            if (reply.Status != HealthCheckResponse.Types.ServingStatus.Serving)
            {
                return new Probe(at, false, null);
            }

            var answer = await predictor.PredictAsync(new PredictRequest { Student = RequestMix.Fixed() }, deadline: Deadline(), cancellationToken: cancellationToken);
            return new Probe(at, true, answer.ModelVersion);
        }
        catch (RpcException e)
        {
            return new Probe(at, false, null, Slow: e.StatusCode == StatusCode.DeadlineExceeded);
        }
    }

    /// <summary>Waits until a probe satisfies <paramref name="condition"/>; returns it, or null at the timeout.</summary>
    public async Task<Probe?> WaitForAsync(Func<Probe, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var until = NowMs + timeout.TotalMilliseconds;
        var seen = 0;
        while (NowMs < until && !cancellationToken.IsCancellationRequested)
        {
            var probes = Probes;
            for (; seen < probes.Count; seen++)
            {
                if (condition(probes[seen]))
                {
                    return probes[seen];
                }
            }

            await Task.Delay(_interval, CancellationToken.None).ConfigureAwait(false);
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
        _channel.Dispose();
    }

    private async Task LoopAsync()
    {
        var next = NowMs;
        while (!_stop.IsCancellationRequested)
        {
            var probe = await ProbeOnceAsync(CancellationToken.None).ConfigureAwait(false);
            lock (_probes)
            {
                _probes.Add(probe);
            }

            // A fixed schedule: a slow probe delays the next one but never shifts the grid.
            next += _interval.TotalMilliseconds;
            var wait = next - NowMs;
            if (wait > 0)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            else
            {
                next = NowMs;
            }
        }
    }

    private DateTime Deadline() => TimeProvider.System.GetUtcNow().UtcDateTime + _deadline;
}

/// <summary>
/// The outages in a probe series: each from the last SERVING probe before it to the first one after, so a window is
/// at most one probe interval longer than the real outage on each side.
/// </summary>
internal sealed record Downtime(int Outages, double LongestMs, double TotalMs, int FailedProbes, int SlowProbes, int Probes)
{
    public static Downtime From(IReadOnlyList<Probe> probes, double fromMs)
    {
        var window = probes.Where(p => p.AtMs >= fromMs).ToList();
        int outages = 0, failed = 0, slow = 0;
        double longest = 0, total = 0;
        double? lastOk = probes.LastOrDefault(p => p.AtMs < fromMs && p.Serving) is { Serving: true } before ? before.AtMs : null;
        double? downSince = null;
        foreach (var p in window)
        {
            if (p.Slow)
            {
                // Under CPU pressure (a preflight container starting beside the live one) an answer can miss the
                // deadline: counted apart, neither up nor down.
                slow++;
                continue;
            }

            if (p.Down)
            {
                failed++;
                downSince ??= lastOk ?? p.AtMs;
                continue;
            }

            if (downSince is { } since)
            {
                var gap = p.AtMs - since;
                outages++;
                total += gap;
                longest = Math.Max(longest, gap);
                downSince = null;
            }

            lastOk = p.AtMs;
        }

        if (downSince is { } open && window.Count > 0)
        {
            // Still down at the end of the window.
            var gap = window[^1].AtMs - open;
            outages++;
            total += gap;
            longest = Math.Max(longest, gap);
        }

        return new Downtime(outages, Math.Round(longest, 1), Math.Round(total, 1), failed, slow, window.Count);
    }
}
