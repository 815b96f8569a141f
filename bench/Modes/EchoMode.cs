using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Echo;

namespace StudentPerformance.Bench.Modes;

/// <summary><c>echo --port P [--max-seconds S]</c>: serve the do-nothing predictor until stopped (or for S seconds at most).</summary>
internal static class EchoMode
{
    public const string ListeningPrefix = "listening ";

    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var port = options.Int("port", 8001, 0, 65535);
        var maxSeconds = options.Seconds("max-seconds", 3600, 86400);
        options.ThrowOnUnknown();

        var app = await EchoServer.StartAsync(port, cancellationToken).ConfigureAwait(false);
        await using var appDisposal = app.ConfigureAwait(false);
        Console.WriteLine(ListeningPrefix + EchoServer.Address(app));
        Console.Out.Flush();
        try
        {
            await Task.Delay(maxSeconds, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C or SIGTERM: stop normally.
        }

        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Starts echo in a child process (its own CPU and RSS, like the predictor's) and returns it with its address.</summary>
    public static async Task<(ChildProcess Child, Uri Address)> StartChildAsync(TimeSpan lifetime)
    {
        var child = ChildProcess.StartSelf(["echo", "--port", "0", "--max-seconds",
            ((int)lifetime.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        try
        {
            var address = await child.WaitForLineAsync(ListeningPrefix, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            return (child, new Uri(address));
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }
}
