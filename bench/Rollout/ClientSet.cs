using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using StudentPerformance.Bench.Cli;

namespace StudentPerformance.Bench.Rollout;

/// <summary>One client's count over a run: calls made, calls failed, and the failures by gRPC status.</summary>
internal sealed record ClientResult(string Client, long Calls, long Failed, IReadOnlyDictionary<string, long> Codes)
{
    /// <summary>What happened between an earlier count of the same client and this one.</summary>
    public ClientResult Since(ClientResult earlier) => this with
    {
        Calls = Calls - earlier.Calls,
        Failed = Failed - earlier.Failed,
        Codes = Codes.Select(kv => (kv.Key, Value: kv.Value - earlier.Codes.GetValueOrDefault(kv.Key)))
            .Where(kv => kv.Value != 0).ToDictionary(kv => kv.Key, kv => kv.Value),
    };

    [System.Text.Json.Serialization.JsonIgnore]
    public string CodesText => string.Join(' ', Codes.Select(kv => $"{kv.Key}={kv.Value}"));
}

/// <summary>
/// The three clients of issue 9, started together and stopped together, each calling grpc.health.v1 Check every
/// interval with a deadline: a new connection per call and one long-lived channel with 20-50 ms reconnect backoff
/// (both Python grpcio, bench/scripts/edge_probe.py), and one long-lived grpc-dotnet channel with default settings.
/// </summary>
internal sealed class ClientSet : IAsyncDisposable
{
    private readonly List<(string Name, ChildProcess Child)> _python;
    private readonly DotnetProber _dotnet;

    // The soak snapshots from its loop and from an edge-restart fault at once; one report at a time per pipe.
    private readonly SemaphoreSlim _reading = new(1, 1);

    private ClientSet(List<(string, ChildProcess)> python, DotnetProber dotnet)
    {
        _python = python;
        _dotnet = dotnet;
    }

    /// <summary>The clients' names, in the order of every result list.</summary>
    public static IReadOnlyList<string> Names { get; } = ["python fresh", "python fast-backoff", "grpc-dotnet default"];

    public static async Task<ClientSet> StartAsync(Uri target, TimeSpan interval, TimeSpan deadline, string python, TimeSpan? maxTime = null)
    {
        var script = Path.Combine(RepoPaths.Root(), "bench", "scripts", "edge_probe.py");
        var children = new List<(string, ChildProcess)>();
        foreach (var client in new[] { "fresh", "fast-backoff" })
        {
            var child = ChildProcess.Start(python, [script, "--address", $"{target.Host}:{target.Port}", "--client", client,
                "--interval", interval.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                "--deadline", deadline.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                "--max-seconds", (maxTime ?? TimeSpan.FromMinutes(15)).TotalSeconds.ToString(CultureInfo.InvariantCulture)]);
            await child.WaitForLineAsync("ready", TimeSpan.FromSeconds(30)).ConfigureAwait(false);

            // grpcio may log to stderr over a long run; an unread pipe would block the client.
            _ = child.Process.StandardError.ReadToEndAsync();
            children.Add(($"python {client}", child));
        }

        return new ClientSet(children, DotnetProber.Start(target, interval, deadline));
    }

    /// <summary>The counts so far; the clients keep calling.</summary>
    public async Task<IReadOnlyList<ClientResult>> SnapshotAsync()
    {
        await _reading.WaitAsync().ConfigureAwait(false);
        try
        {
            var results = new List<ClientResult>();
            foreach (var (name, child) in _python)
            {
                await child.Process.StandardInput.WriteLineAsync("report").ConfigureAwait(false);
                await child.Process.StandardInput.FlushAsync().ConfigureAwait(false);
                results.Add(await ReadCountsAsync(name, child).ConfigureAwait(false));
            }

            results.Add(_dotnet.Snapshot());
            return results;
        }
        finally
        {
            _reading.Release();
        }
    }

    public async Task<IReadOnlyList<ClientResult>> StopAsync()
    {
        await _reading.WaitAsync().ConfigureAwait(false);
        try
        {
            var results = new List<ClientResult>();
            foreach (var (name, child) in _python)
            {
                child.Process.StandardInput.Close();
                results.Add(await ReadCountsAsync(name, child).ConfigureAwait(false));
            }

            results.Add(await _dotnet.StopAsync().ConfigureAwait(false));
            return results;
        }
        finally
        {
            _reading.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _reading.Dispose();
        foreach (var (_, child) in _python)
        {
            child.Dispose();
        }

        await _dotnet.StopAsync().ConfigureAwait(false);
        _dotnet.Dispose();
    }

    private static async Task<ClientResult> ReadCountsAsync(string name, ChildProcess child)
    {
        var line = await child.WaitForLineAsync("{", TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        using var json = JsonDocument.Parse("{" + line);
        var root = json.RootElement;
        return new ClientResult(name, root.GetProperty("calls").GetInt64(), root.GetProperty("failed").GetInt64(),
            root.GetProperty("codes").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64()));
    }

    /// <summary>One long-lived grpc-dotnet channel with default settings, Health/Check on a fixed schedule.</summary>
    private sealed class DotnetProber : IDisposable
    {
        private static readonly TimeProvider Clock = TimeProvider.System;
        private readonly CancellationTokenSource _stop = new();
        private readonly Dictionary<string, long> _codes = [];
        private readonly Lock _gate = new();
        private Task? _loop;
        private long _calls;
        private long _failed;

        public static DotnetProber Start(Uri target, TimeSpan interval, TimeSpan deadline)
        {
            var prober = new DotnetProber();
            prober._loop = Task.Run(() => prober.LoopAsync(target, interval, deadline));
            return prober;
        }

        public ClientResult Snapshot()
        {
            lock (_gate)
            {
                return new ClientResult(Names[2], _calls, _failed, new Dictionary<string, long>(_codes));
            }
        }

        public async Task<ClientResult> StopAsync()
        {
            if (_loop is { } loop)
            {
                await _stop.CancelAsync().ConfigureAwait(false);
                await loop.ConfigureAwait(false);
                _loop = null;
            }

            return Snapshot();
        }

        public void Dispose() => _stop.Dispose();

        private async Task LoopAsync(Uri target, TimeSpan interval, TimeSpan deadline)
        {
            using var channel = GrpcChannel.ForAddress(target);
            var health = new Health.HealthClient(channel);
            var next = Clock.GetTimestamp();
            while (!_stop.IsCancellationRequested)
            {
                lock (_gate)
                {
                    _calls++;
                }

                try
                {
                    var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: Clock.GetUtcNow().UtcDateTime + deadline).ConfigureAwait(false);
                    if (reply.Status != HealthCheckResponse.Types.ServingStatus.Serving)
                    {
                        Fail("NOT_SERVING");
                    }
                }
                catch (RpcException e)
                {
                    Fail(e.StatusCode.ToString());
                }

                next += (long)(interval.TotalSeconds * Clock.TimestampFrequency);
                var wait = Clock.GetElapsedTime(Clock.GetTimestamp(), next);
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, _stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
                else
                {
                    next = Clock.GetTimestamp();
                }
            }
        }

        private void Fail(string code)
        {
            lock (_gate)
            {
                _failed++;
                _codes[code] = _codes.GetValueOrDefault(code) + 1;
            }
        }
    }
}
