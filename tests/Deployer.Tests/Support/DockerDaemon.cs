using System.Diagnostics;

namespace Deployer.Tests.Support;

/// <summary>
/// Restarts the real Docker daemon: systemd's unit where systemd runs it (GitHub's runners), otherwise the
/// running dockerd is stopped with SIGTERM and started again with its own command line (scripts/setup-host.sh
/// starts it that way here and in CI). Stopping the daemon stops every container; those with a restart policy
/// come back when it starts, as on a host whose Docker package was upgraded.
/// </summary>
public static class DockerDaemon
{
    private const string PidFile = "/var/run/docker.pid";
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    public static async Task RestartAsync()
    {
        if (Directory.Exists("/run/systemd/system"))
        {
            await RunAsync("systemctl", ["restart", "docker"]);
        }
        else
        {
            var pid = int.Parse((await File.ReadAllTextAsync(PidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            var commandLine = (await File.ReadAllTextAsync($"/proc/{pid}/cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
            using (var daemon = Process.GetProcessById(pid))
            {
                await RunAsync("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                using var stopped = new CancellationTokenSource(StopTimeout);
                await daemon.WaitForExitAsync(stopped.Token);
            }

            // setsid and a log file: the new daemon must outlive this test process and never write to its pipes.
            await RunAsync("/bin/sh", ["-c", "setsid \"$@\" >>/var/log/dockerd.log 2>&1 </dev/null &", "sh", .. commandLine]);
        }

        await Probes.WaitUntilAsync(
            async () => (await Cli.TryRunAsync(["version", "--format", "{{.Server.Version}}"], TimeSpan.FromSeconds(5))).ExitCode == 0,
            StartTimeout,
            "the Docker daemon to answer again");
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { UseShellExecute = false })
            ?? throw new InvalidOperationException($"could not start {file}");
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited {process.ExitCode}");
        }
    }
}
