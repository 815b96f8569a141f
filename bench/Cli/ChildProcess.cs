using System.Diagnostics;

namespace StudentPerformance.Bench.Cli;

/// <summary>A process this run started and always ends: killed (with its children) on dispose.</summary>
internal sealed class ChildProcess : IDisposable
{
    private ChildProcess(Process process) => Process = process;

    public Process Process { get; }

    public int Pid => Process.Id;

    /// <summary>Starts <paramref name="fileName"/>; stdout and stderr are captured, not inherited.</summary>
    public static ChildProcess Start(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        return new ChildProcess(Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}"));
    }

    /// <summary>This benchmark program again, the same way it was launched (apphost, or <c>dotnet Bench.dll</c>).</summary>
    public static ChildProcess StartSelf(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var prefix = Path.GetFileNameWithoutExtension(host) == "dotnet" ? [typeof(ChildProcess).Assembly.Location] : Array.Empty<string>();
        return Start(host, prefix.Concat(args), env);
    }

    /// <summary>Reads stdout until a line starts with <paramref name="prefix"/>; returns the rest of that line.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (await Process.StandardOutput.ReadLineAsync(cts.Token).ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line[prefix.Length..].Trim();
            }
        }

        var err = await Process.StandardError.ReadToEndAsync(CancellationToken.None).ConfigureAwait(false);
        throw new InvalidOperationException($"child exited before printing '{prefix}': {err}");
    }

    /// <summary>Sends SIGTERM and waits up to <paramref name="grace"/>; returns the exit code, or null if it had to be killed.</summary>
    public async Task<int?> TerminateAsync(TimeSpan grace)
    {
        if (Process.HasExited)
        {
            return Process.ExitCode;
        }

        using (var kill = Process.Start("/bin/kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync().ConfigureAwait(false);
        }

        using var cts = new CancellationTokenSource(grace);
        try
        {
            await Process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return Process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree: true);
            return null;
        }
    }

    /// <summary>Reads and discards stdout and stderr: unread pipes fill up and block a chatty child.</summary>
    public async Task DrainAsync()
    {
        var a = Process.StandardOutput.ReadToEndAsync();
        var b = Process.StandardError.ReadToEndAsync();
        await Task.WhenAll(a, b).ConfigureAwait(false);
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        Process.Dispose();
    }
}
