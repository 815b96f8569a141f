using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Deployer.Tests.Support;

/// <summary>
/// A client as real ones are: one long-lived grpc-dotnet channel with default settings, calling Health.Check every
/// 50 ms through the public port for as long as it runs, and keeping every call that did not answer SERVING. A call
/// that only ran past its (generous) deadline is counted apart: on a loaded two-core host slowness is not an outage.
/// </summary>
public sealed class CallRecorder : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _failures = [];
    private readonly List<string> _notServing = [];
    private readonly List<RecordedCall> _failedCalls = [];
    private readonly List<DateTimeOffset> _servingStarts = [];
    private readonly Task _loop;
    private int _calls;
    private int _slow;

    private readonly Uri _address;
    private readonly bool _newChannelPerCall;

    /// <param name="address">The edge's public gRPC address.</param>
    /// <param name="newChannelPerCall">A new channel (a new TCP connection) for every call, as a short-lived client has.</param>
    /// <param name="handler">The long-lived channel's handler (such as one that trusts a test certificate); the default's otherwise.</param>
    public CallRecorder(Uri address, bool newChannelPerCall = false, HttpMessageHandler? handler = null)
    {
        _address = address;
        _newChannelPerCall = newChannelPerCall;
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = handler is not null });
        _loop = Task.Run(LoopAsync);
    }

    public int Calls => Volatile.Read(ref _calls);

    public int Slow => Volatile.Read(ref _slow);

    /// <summary>Calls refused, reset or unavailable: what a client would see as an outage.</summary>
    public IReadOnlyList<string> Failures
    {
        get
        {
            lock (_failures)
            {
                return [.. _failures];
            }
        }
    }

    /// <summary>
    /// Calls answered NOT_SERVING: a slot shutting down says so while it drains, until the edge's check or the
    /// deployer takes it out. Kept apart so a test can say which of the two it allows.
    /// </summary>
    public IReadOnlyList<string> NotServing
    {
        get
        {
            lock (_failures)
            {
                return [.. _notServing];
            }
        }
    }

    /// <summary>The failed calls of <see cref="Failures"/> with when each started and ended, for a test that counts from a moment.</summary>
    public IReadOnlyList<RecordedCall> FailedCalls
    {
        get
        {
            lock (_failures)
            {
                return [.. _failedCalls];
            }
        }
    }

    /// <summary>When the first call that started at or after <paramref name="moment"/> and answered SERVING started; null before there is one.</summary>
    public DateTimeOffset? FirstServingStartedAt(DateTimeOffset moment)
    {
        lock (_failures)
        {
            var index = _servingStarts.FindIndex(s => s >= moment);
            return index < 0 ? null : _servingStarts[index];
        }
    }

    /// <summary>Waits until at least <paramref name="more"/> more calls have been made, so a window is covered.</summary>
    public Task WaitForMoreCallsAsync(int more, TimeSpan timeout)
    {
        var target = Calls + more;
        return Probes.WaitUntilAsync(() => Task.FromResult(Calls >= target), timeout, $"{more} more calls through the edge");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _channel.Dispose();
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        var client = new Health.HealthClient(_channel);
        while (!_stop.IsCancellationRequested)
        {
            using var fresh = _newChannelPerCall ? GrpcChannel.ForAddress(_address) : null;
            if (fresh is not null)
            {
                client = new Health.HealthClient(fresh);
            }

            var started = TimeProvider.System.GetUtcNow();
            try
            {
                var reply = await client.CheckAsync(new HealthCheckRequest(), deadline: started.UtcDateTime.AddSeconds(5));
                lock (_failures)
                {
                    if (reply.Status != HealthCheckResponse.Types.ServingStatus.Serving)
                    {
                        _notServing.Add($"{TimeProvider.System.GetUtcNow():HH:mm:ss.fff} {reply.Status}");
                    }
                    else
                    {
                        _servingStarts.Add(started);
                    }
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
            {
                Interlocked.Increment(ref _slow);
            }
            catch (RpcException ex)
            {
                Record(started, $"{ex.StatusCode}: {ex.Status.Detail}");
            }

            Interlocked.Increment(ref _calls);
            try
            {
                await Task.Delay(50, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Record(DateTimeOffset started, string failure)
    {
        var ended = TimeProvider.System.GetUtcNow();
        lock (_failures)
        {
            _failures.Add($"{ended:HH:mm:ss.fff} {failure}");
            _failedCalls.Add(new RecordedCall(started, ended, failure));
        }
    }
}

/// <summary>A call that failed: when it started and ended (UTC), and what the client saw.</summary>
public sealed record RecordedCall(DateTimeOffset Started, DateTimeOffset Ended, string Failure)
{
    public override string ToString() => $"{Started:HH:mm:ss.fff}-{Ended:HH:mm:ss.fff} {Failure}";
}
