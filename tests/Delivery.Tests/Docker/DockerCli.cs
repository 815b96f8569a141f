using System.Globalization;

namespace StudentPerformance.Delivery.Tests.Docker;

/// <summary>
/// The Docker engine through Debian's client, <c>/usr/bin/docker</c> (the one with BuildKit), or <c>$DOCKER</c>.
/// Other people use the same engine at the same time, so everything a test creates gets a unique name.
/// </summary>
public static class DockerCli
{
    public static string Executable =>
        Environment.GetEnvironmentVariable("DOCKER") is { Length: > 0 } docker ? docker : "/usr/bin/docker";

    public static Task<CommandResult> RunAsync(params string[] arguments) =>
        RunAsync(arguments, TimeSpan.FromMinutes(2));

    public static Task<CommandResult> RunAsync(
        IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Command.RunAsync(
            Executable,
            arguments,
            timeout,
            new Dictionary<string, string> { ["DOCKER_BUILDKIT"] = "1" },
            cancellationToken: cancellationToken);

    /// <summary>A lower-case name that no other test run uses, such as <c>delivery-predictor-1a2b3c4d</c>.</summary>
    public static string UniqueName(string prefix) =>
        $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreePort() => StudentPerformance.TestSupport.TestPorts.Free();

    /// <summary><c>docker inspect --format</c> on a container or image, trimmed.</summary>
    public static async Task<string> InspectAsync(string nameOrId, string format) =>
        (await RunAsync("inspect", "--format", format, nameOrId)).EnsureSuccess().StdOut.Trim();

    public static async Task<long> ImageSizeAsync(string image) =>
        long.Parse(
            (await RunAsync("image", "inspect", "--format", "{{.Size}}", image)).EnsureSuccess().StdOut.Trim(),
            CultureInfo.InvariantCulture);

    public static Task RemoveImageAsync(string image) => RunAsync("rmi", "--force", image);
}
