using System.Diagnostics;
using System.Globalization;
using Grpc.Health.V1;
using Grpc.Net.Client;
using StudentPerformance.Bench.Modes;

namespace StudentPerformance.Bench.Rollout;

/// <summary>An edge restart the soak made: when, how long the edge was away, and the calls each client lost meanwhile.</summary>
internal sealed record EdgeRestartResult(double DownSeconds, double RecoverySeconds, IReadOnlyList<long> FailedWhileDown);

/// <summary>
/// Faults of the edge for the soak (issue 17): the edge's runtime API refusing connections (an iptables REJECT on its
/// TCP port on 127.0.0.1, removed in a finally), and the edge container restarted (<c>docker restart</c>).
/// </summary>
internal static class EdgeFaults
{
    /// <summary>How long each client must call without a new failure before the edge counts as back for every client.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    /// <summary>A restart whose clients have not recovered by then is reported with what it cost so far.</summary>
    private static readonly TimeSpan RecoveryCap = TimeSpan.FromSeconds(30);

    /// <summary>After <paramref name="delay"/>, refuses TCP connections to 127.0.0.1:<paramref name="port"/> for <paramref name="duration"/>.</summary>
    public static async Task RefuseRuntimeApiAsync(int port, TimeSpan delay, TimeSpan duration, string label, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        string[] rule = ["-p", "tcp", "-d", "127.0.0.1", "--dport", port.ToString(CultureInfo.InvariantCulture), "-j", "REJECT", "--reject-with", "tcp-reset"];
        await IptablesAsync(["-I", "INPUT", .. rule]).ConfigureAwait(false);
        Console.WriteLine($"  {label}: runtime API on port {port} refused for {duration.TotalSeconds} s");
        try
        {
            // The fault's length, not a wait for a state.
            await Task.Delay(duration, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await IptablesAsync(["-D", "INPUT", .. rule]).ConfigureAwait(false);
            Console.WriteLine($"  {label}: runtime API on port {port} answers again");
        }
    }

    /// <summary>
    /// After <paramref name="delay"/>, restarts the edge container, and counts the calls each client lost until the
    /// edge is back for all of them: <c>docker restart</c> returned, a call on a new connection through
    /// <paramref name="publicAddress"/> answered SERVING, and then every client has called for <see cref="Quiet"/>
    /// without a new failure (a long-lived channel reconnects only after its own backoff), at most <see cref="RecoveryCap"/>.
    /// </summary>
    public static async Task<EdgeRestartResult?> RestartEdgeAsync(
        string edge, Uri publicAddress, ClientSet clients, TimeSpan delay, string label, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        var before = await clients.SnapshotAsync().ConfigureAwait(false);
        var started = TimeProvider.System.GetTimestamp();
        await StartupMode.DockerAsync(["restart", edge], cancellationToken).ConfigureAwait(false);
        while (!await ServesOnNewConnectionAsync(publicAddress).ConfigureAwait(false))
        {
            if (TimeProvider.System.GetElapsedTime(started) > TimeSpan.FromSeconds(120))
            {
                throw new InvalidOperationException($"the edge {edge} did not answer SERVING within 120 s of its restart");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        var down = TimeProvider.System.GetElapsedTime(started);
        var recovering = TimeProvider.System.GetTimestamp();
        var last = await clients.SnapshotAsync().ConfigureAwait(false);
        var quietSince = Enumerable.Repeat(TimeProvider.System.GetTimestamp(), last.Count).ToArray();
        while (TimeProvider.System.GetElapsedTime(recovering) < RecoveryCap
            && quietSince.Any(q => TimeProvider.System.GetElapsedTime(q) < Quiet))
        {
            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            var now = await clients.SnapshotAsync().ConfigureAwait(false);
            for (var i = 0; i < now.Count; i++)
            {
                if (now[i].Failed != last[i].Failed || now[i].Calls == last[i].Calls)
                {
                    quietSince[i] = TimeProvider.System.GetTimestamp();
                }
            }

            last = now;
        }

        var failed = last.Zip(before, (a, b) => a.Since(b).Failed).ToList();
        var result = new EdgeRestartResult(Math.Round(down.TotalSeconds, 1), Math.Round(TimeProvider.System.GetElapsedTime(recovering).TotalSeconds, 1), failed);
        Console.WriteLine($"  {label}: edge restarted, away {result.DownSeconds} s, every client back {result.RecoverySeconds} s later; " +
            $"calls failed meanwhile {string.Join('/', failed)}");
        return result;
    }

    private static async Task<bool> ServesOnNewConnectionAsync(Uri address)
    {
        try
        {
            using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2) } });
            var reply = await new Health.HealthClient(channel)
                .CheckAsync(new HealthCheckRequest(), deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(2)).ConfigureAwait(false);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
        }
        catch (Exception e) when (e is Grpc.Core.RpcException or HttpRequestException)
        {
            return false;
        }
    }

    private static async Task IptablesAsync(string[] arguments)
    {
        var start = new ProcessStartInfo("iptables") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start iptables");
        var error = await process.StandardError.ReadToEndAsync().ConfigureAwait(false);
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"iptables {string.Join(' ', arguments)} failed: {error.Trim()}");
        }
    }
}
