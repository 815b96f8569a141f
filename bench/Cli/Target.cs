using System.Globalization;
using Grpc.Core;
using Grpc.Health.V1;
using StudentPerformance.Bench.Load;

namespace StudentPerformance.Bench.Cli;

/// <summary>
/// The server under test: a running one (<c>--address</c>, optional <c>--pid</c>), or a predictor this run starts
/// itself (<c>--start</c>, or <c>--command</c>, with <c>--env K=V</c>) on free loopback ports and stops at the end.
/// </summary>
internal sealed class Target : IDisposable
{
    /// <summary>
    /// How a started predictor is told its ports: the standard Kestrel endpoint keys from its appsettings.json,
    /// bound to loopback. <c>{port}</c> is the gRPC (HTTP/2) port and <c>{port2}</c> the HTTP/1.1 front door.
    /// </summary>
    public static readonly string[] DefaultEnv =
    [
        "Kestrel__Endpoints__Grpc__Url=http://127.0.0.1:{port}",
        "Kestrel__Endpoints__Http__Url=http://127.0.0.1:{port2}",
        "Logging__LogLevel__Default=Warning",
    ];

    public static readonly string[] OptionNames = ["address", "pid", "start", "command", "env"];

    private Target(Uri address, int pid, ChildProcess? child)
    {
        Address = address;
        Pid = pid;
        Child = child;
    }

    public Uri Address { get; }

    public int Pid { get; }

    public ChildProcess? Child { get; }

    public static async Task<Target> FromOptionsAsync(Options options, CancellationToken cancellationToken)
    {
        var address = options.StringOrNull("address");
        var pid = options.Int("pid", 0);
        var start = options.Flag("start");
        var command = options.StringOrNull("command");
        var env = options.All("env");
        if (!start && command is null)
        {
            return new Target(new Uri(address ?? "http://127.0.0.1:8000"), pid, null);
        }

        if (address is not null || pid != 0)
        {
            throw new UsageException("--start/--command and --address/--pid are exclusive: a started predictor gets free ports");
        }

        var (child, port) = Start(command ?? DefaultCommand(), [.. DefaultEnv, .. env]);
        var uri = new Uri($"http://127.0.0.1:{port}");
        var (_, serving) = await WaitServingAsync(uri, TimeProvider.System.GetTimestamp(), TimeSpan.FromSeconds(60), () => child.Process.HasExited, cancellationToken).ConfigureAwait(false);
        if (serving is null)
        {
            child.Dispose();
            throw new UsageException($"the predictor started with '{command ?? DefaultCommand()}' did not reach SERVING within 60 s");
        }

        return new Target(uri, child.Pid, child);
    }

    public static string DefaultCommand() =>
        "dotnet " + Path.Combine(RepoPaths.Root(), "services", "Predictor", "bin", "Release", "net10.0", "Predictor.dll");

    /// <summary>Starts a command on two free ports; its output is drained so that a chatty server never blocks.</summary>
    public static (ChildProcess Child, int Port) Start(string command, IReadOnlyList<string> env)
    {
        var port = RepoPaths.FreePort();
        var port2 = RepoPaths.FreePort();
        var parts = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var vars = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in env)
        {
            var kv = e.Replace("{port}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{port2}", port2.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Split('=', 2);
            vars[kv[0]] = kv.Length > 1 ? kv[1] : "";
        }

        var child = ChildProcess.Start(parts[0], parts[1..], vars);
        _ = child.DrainAsync();
        return (child, port);
    }

    /// <summary>
    /// Polls Health.Check every 2 ms. Returns the time of the first answer of any kind (the port is up) and of the
    /// first SERVING, both from <paramref name="started"/>; null when it never got there.
    /// </summary>
    public static async Task<(double? FirstMs, double? ServingMs)> WaitServingAsync(
        Uri address, long started, TimeSpan timeout, Func<bool> exited, CancellationToken cancellationToken)
    {
        // First wait for the port to accept TCP: a gRPC call made before that can sit on its deadline instead of
        // failing fast, which once added a whole second to every measurement.
        while (TimeProvider.System.GetElapsedTime(started) < timeout && !exited() && !cancellationToken.IsCancellationRequested)
        {
            using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromMilliseconds(200));
                await probe.ConnectAsync(address.Host, address.Port, attempt.Token).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
            {
                await Task.Delay(2, CancellationToken.None).ConfigureAwait(false);
            }
        }

        using var channel = ClosedLoop.CreateChannel(address);
        var health = new Health.HealthClient(channel);
        double? first = null;
        while (TimeProvider.System.GetElapsedTime(started) < timeout && !exited() && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(),
                    deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(1), cancellationToken: cancellationToken);
                var now = TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
                first ??= now;
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return (Math.Round(first.Value, 1), Math.Round(now, 1));
                }
            }
            catch (RpcException e) when (e.StatusCode is not StatusCode.Unavailable and not StatusCode.DeadlineExceeded)
            {
                // The server answered (for example NOT_FOUND while health is still being wired): it is up.
                first ??= TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
            }
            catch (RpcException)
            {
                // Not listening yet.
            }

            await Task.Delay(2, CancellationToken.None).ConfigureAwait(false);
        }

        return (first is null ? null : Math.Round(first.Value, 1), null);
    }

    public void Dispose() => Child?.Dispose();
}
