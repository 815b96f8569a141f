using System.Globalization;
using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Echo;
using StudentPerformance.Bench.Load;

namespace StudentPerformance.Bench.Modes;

/// <summary>
/// <c>startup</c>: start the predictor (a process, or a container with <c>--image</c>), time until gRPC Health
/// reports SERVING, read its RSS at that moment, stop it; repeat and report the median.
/// </summary>
internal static class StartupMode
{
    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var runs = options.Int("runs", 5, 1, 100);
        var timeout = options.Seconds("timeout", 30, 600);
        var image = options.StringOrNull("image");
        var echo = options.Flag("echo");
        var command = options.StringOrNull("command");
        var env = options.All("env");
        var grace = options.Seconds("grace", 10, 120);
        options.ThrowOnUnknown();

        // The poller's own first gRPC call JITs the client's HTTP/2 stack; do that against an in-process echo server
        // first, so the first measured run does not include it.
        var warm = await EchoServer.StartAsync(0, cancellationToken).ConfigureAwait(false);
        await using (warm.ConfigureAwait(false))
        {
            await Target.WaitServingAsync(EchoServer.Address(warm), TimeProvider.System.GetTimestamp(), TimeSpan.FromSeconds(10), () => false, cancellationToken).ConfigureAwait(false);
        }

        var results = new List<StartupRun>();
        for (var i = 0; i < runs && !cancellationToken.IsCancellationRequested; i++)
        {
            var run = image is not null
                ? await RunContainerAsync(image, timeout, cancellationToken).ConfigureAwait(false)
                : await RunProcessAsync(echo ? null : command ?? Target.DefaultCommand(), [.. Target.DefaultEnv, .. env], timeout, grace, cancellationToken).ConfigureAwait(false);
            results.Add(run);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {i + 1}: first answer {run.FirstAnswerMs:0} ms, SERVING {run.ServingMs:0} ms (CPU {run.CpuMsAtServing:0} ms), RSS {run.RssMb:0.0} MB, " +
                $"SIGTERM to exit {run.StopMs:0} ms (exit {run.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "killed"})"));
        }

        var ok = results.Where(r => r.ServingMs is not null).ToList();
        double? Median(Func<StartupRun, double?> f)
        {
            var v = ok.Select(f).OfType<double>().Order().ToList();
            return v.Count == 0 ? null : Math.Round(v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2, 1);
        }

        var what = image is not null ? $"container {image}" : echo ? "echo" : command ?? Target.DefaultCommand();
        Report.Print(
            ["target", "runs", "serving", "median to SERVING ms", "median CPU ms", "median first answer ms", "median RSS MB", "median stop ms"],
            [[what, Report.F(results.Count), Report.F(ok.Count), Report.F(Median(r => r.ServingMs)), Report.F(Median(r => r.CpuMsAtServing)), Report.F(Median(r => r.FirstAnswerMs)),
              Report.F(Median(r => r.RssMb)), Report.F(Median(r => r.StopMs))]]);
        Report.JsonLine(new
        {
            mode = "startup",
            date = Report.Now(),
            target = what,
            runs = results.Count,
            serving = ok.Count,
            median_serving_ms = Median(r => r.ServingMs),
            median_cpu_ms_at_serving = Median(r => r.CpuMsAtServing),
            median_first_answer_ms = Median(r => r.FirstAnswerMs),
            median_rss_mb = Median(r => r.RssMb),
            median_stop_ms = Median(r => r.StopMs),
            all = results,
        });
        return ok.Count == results.Count ? 0 : 1;
    }

    private static async Task<StartupRun> RunProcessAsync(
        string? command, IReadOnlyList<string> env, TimeSpan timeout, TimeSpan grace, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        var (child, port) = command is null ? StartEcho() : Target.Start(command, env);
        using var _ = child;
        var (first, serving) = await Target.WaitServingAsync(new Uri($"http://127.0.0.1:{port}"), started, timeout, () => child.Process.HasExited, cancellationToken).ConfigureAwait(false);
        var sample = ProcessSample.Read(child.Pid);
        var stopping = TimeProvider.System.GetTimestamp();
        var exit = await child.TerminateAsync(grace).ConfigureAwait(false);
        var stopMs = TimeProvider.System.GetElapsedTime(stopping).TotalMilliseconds;
        return new StartupRun(first, serving, Mb(sample?.RssBytes), Math.Round(stopMs, 1), exit, CpuMs(sample));
    }

    private static (ChildProcess Child, int Port) StartEcho()
    {
        var port = RepoPaths.FreePort();
        var child = ChildProcess.StartSelf(["echo", "--port", port.ToString(CultureInfo.InvariantCulture), "--max-seconds", "600"]);
        _ = child.DrainAsync();
        return (child, port);
    }

    private static async Task<StartupRun> RunContainerAsync(string image, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var name = "bench-startup-" + Guid.NewGuid().ToString("N")[..10];
        var started = TimeProvider.System.GetTimestamp();
        try
        {
            await DockerAsync(["run", "-d", "--name", name, "-p", "127.0.0.1::8000", image], cancellationToken).ConfigureAwait(false);
            var mapped = (await DockerAsync(["port", name, "8000/tcp"], cancellationToken).ConfigureAwait(false)).Split('\n')[0].Trim();
            var (first, serving) = await Target.WaitServingAsync(new Uri($"http://{mapped}"), started, timeout, () => false, cancellationToken).ConfigureAwait(false);
            var pid = int.Parse(await DockerAsync(["inspect", "-f", "{{.State.Pid}}", name], cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            var sample = ProcessSample.Read(pid);
            var stopping = TimeProvider.System.GetTimestamp();
            await DockerAsync(["stop", "-t", "10", name], cancellationToken).ConfigureAwait(false);
            var stopMs = TimeProvider.System.GetElapsedTime(stopping).TotalMilliseconds;
            var exit = int.Parse(await DockerAsync(["inspect", "-f", "{{.State.ExitCode}}", name], cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            return new StartupRun(first, serving, Mb(sample?.RssBytes), Math.Round(stopMs, 1), exit, CpuMs(sample));
        }
        finally
        {
            await DockerAsync(["rm", "-f", name], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        }
    }

    /// <summary>Runs Debian's docker client (the one with the engine's API version) and returns its stdout.</summary>
    public static async Task<string> DockerAsync(IEnumerable<string> args, CancellationToken cancellationToken, bool throwOnError = true)
    {
        using var child = ChildProcess.Start("/usr/bin/docker", args);
        var stdout = child.Process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = child.Process.StandardError.ReadToEndAsync(cancellationToken);
        await child.Process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (throwOnError && child.Process.ExitCode != 0)
        {
            throw new InvalidOperationException($"docker {string.Join(' ', args)} failed: {(await stderr.ConfigureAwait(false)).Trim()}");
        }

        return (await stdout.ConfigureAwait(false)).Trim();
    }

    private static double? Mb(long? bytes) => bytes is null ? null : Math.Round(bytes.Value / 1048576.0, 1);

    // CPU time the process used up to SERVING: unlike the wall time, it barely moves when other work shares the cores.
    private static double? CpuMs(ProcessSample? sample) => sample is null ? null : Math.Round(sample.Value.CpuSeconds * 1000, 0);

    private sealed record StartupRun(double? FirstAnswerMs, double? ServingMs, double? RssMb, double StopMs, int? ExitCode, double? CpuMsAtServing);
}
