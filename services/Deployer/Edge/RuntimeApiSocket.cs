using System.Globalization;

namespace StudentPerformance.Deployer.Edge;

/// <summary>
/// The runtime API as a unix socket that only the deployer and the edge reach: the socket lives in a directory the
/// deployer owns with mode 0770; the edge container joins the deployer's group (<c>--group-add</c>) to create it
/// there, and HAProxy gives it mode 0660 and that group. Any other local user cannot even enter the directory.
/// </summary>
public static class RuntimeApiSocket
{
    private const string Scheme = "unix:";
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute;

    /// <summary>
    /// The socket's connection limit. The deployer opens one connection per command and runs few at once (a tick, a
    /// switch, a /status); this leaves it ample room, and no one else can connect to use it up.
    /// </summary>
    public const int MaxConnections = 64;

    /// <summary>The socket's path, or null when <see cref="EdgeOptions.RuntimeApi"/> is TCP.</summary>
    public static string? PathOf(EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.RuntimeApi.StartsWith(Scheme, StringComparison.Ordinal) ? options.RuntimeApi[Scheme.Length..] : null;
    }

    /// <summary>The folder the edge container mounts (at the same path) to create the socket in.</summary>
    public static string? DirectoryOf(EdgeOptions options) => PathOf(options) is { } path ? Path.GetDirectoryName(path) : null;

    /// <summary>Creates the socket's folder (or narrows an existing one) with mode 0770, owned by the deployer.</summary>
    public static void PrepareDirectory(EdgeOptions options)
    {
        if (DirectoryOf(options) is not { } directory || OperatingSystem.IsWindows())
        {
            return;
        }

        Directory.CreateDirectory(directory, DirectoryMode);
        if (File.GetUnixFileMode(directory) != DirectoryMode)
        {
            File.SetUnixFileMode(directory, DirectoryMode);
        }
    }

    /// <summary>
    /// The deployer's effective group id, which the edge joins and HAProxy gives the socket (0 where /proc is absent).
    /// </summary>
    public static int DeployerGroupId()
    {
        try
        {
            // "Gid:\treal\teffective\tsaved\tfs"
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Gid:", StringComparison.Ordinal));
            var fields = line?.Split('\t', StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: >= 3 } ? int.Parse(fields[2], CultureInfo.InvariantCulture) : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }
}
