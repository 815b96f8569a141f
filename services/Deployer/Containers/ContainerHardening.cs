using System.Globalization;

namespace StudentPerformance.Deployer.Containers;

/// <summary>
/// The hardening of one container: as the deployer asks for it (<see cref="From"/>) or as the engine reports it
/// (<see cref="ContainerInfo.Hardening"/>, read from <c>docker inspect</c>'s HostConfig).
/// </summary>
/// <param name="ReadOnlyRootFs">The root filesystem is mounted read-only.</param>
/// <param name="Tmpfs">tmpfs mounts: path to mount options (<c>rw,noexec,nosuid,nodev,size=64m</c>).</param>
/// <param name="CapDrop">Capabilities dropped, upper case without <c>CAP_</c>, or <c>ALL</c>.</param>
/// <param name="CapAdd">Capabilities added back, upper case without <c>CAP_</c>.</param>
/// <param name="NoNewPrivileges">The <c>no-new-privileges</c> security option is set.</param>
/// <param name="PidsLimit">The pids limit; 0 means none.</param>
/// <param name="LogDriver">The log driver; empty means the engine's default, with no options of ours.</param>
/// <param name="LogOptions">The log driver's options (<c>max-size</c>, <c>max-file</c>).</param>
public sealed record ContainerHardening(
    bool ReadOnlyRootFs,
    IReadOnlyDictionary<string, string> Tmpfs,
    IReadOnlyList<string> CapDrop,
    IReadOnlyList<string> CapAdd,
    bool NoNewPrivileges,
    long PidsLimit,
    string LogDriver,
    IReadOnlyDictionary<string, string> LogOptions)
{
    /// <summary>The security option as the deployer (and docker-compose.yml) writes it.</summary>
    public const string NoNewPrivilegesOption = "no-new-privileges:true";

    /// <summary>The mount options of each tmpfs, before its size.</summary>
    public const string TmpfsMountOptions = "rw,noexec,nosuid,nodev";

    private const string Key = "Deployer:Container:Hardening:";

    /// <summary>The hardened defaults of <see cref="ContainerHardeningOptions"/>.</summary>
    public static ContainerHardening Default { get; } = From(new ContainerHardeningOptions());

    /// <summary>Nothing set: what <c>docker run</c> gives without flags. Only for comparison and tests.</summary>
    public static ContainerHardening None { get; } = new(
        false, new Dictionary<string, string>(), [], [], false, 0, "", new Dictionary<string, string>());

    /// <summary>The hardening that validated <paramref name="options"/> ask for.</summary>
    public static ContainerHardening From(ContainerHardeningOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var tmpfsOptions = $"{TmpfsMountOptions},size={options.TmpfsSizeMiB.ToString(CultureInfo.InvariantCulture)}m";
        var logging = options.Logging;
        var rotated = logging.Driver is ContainerLoggingOptions.JsonFile or ContainerLoggingOptions.Local;
        return new ContainerHardening(
            options.ReadOnlyRootFs,
            List(options.Tmpfs, upper: false).ToDictionary(path => path, _ => tmpfsOptions, StringComparer.Ordinal),
            List(options.CapDrop, upper: true),
            List(options.CapAdd, upper: true),
            options.NoNewPrivileges,
            Math.Max(0, options.PidsLimit),
            rotated ? logging.Driver : "",
            rotated
                ? new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["max-size"] = logging.MaxSize,
                    ["max-file"] = logging.MaxFile.ToString(CultureInfo.InvariantCulture),
                }
                : new Dictionary<string, string>(StringComparer.Ordinal));
    }

    /// <summary>
    /// The settings (as <c>Deployer:Container:Hardening:*</c> keys) in which <paramref name="actual"/> differs
    /// from this one; empty when the container carries this hardening. Engine spellings are normalised first
    /// (<c>CAP_NET_RAW</c> is <c>NET_RAW</c>; <c>no-new-privileges</c> is <c>no-new-privileges:true</c>).
    /// </summary>
    public IReadOnlyList<string> Differences(ContainerHardening actual)
    {
        ArgumentNullException.ThrowIfNull(actual);
        var differences = new List<string>();
        if (ReadOnlyRootFs != actual.ReadOnlyRootFs)
        {
            differences.Add(Key + nameof(ContainerHardeningOptions.ReadOnlyRootFs));
        }

        if (!SameTmpfs(Tmpfs, actual.Tmpfs))
        {
            differences.Add(Key + nameof(ContainerHardeningOptions.Tmpfs));
        }

        if (!Capabilities(CapDrop).SetEquals(Capabilities(actual.CapDrop)))
        {
            differences.Add(Key + nameof(ContainerHardeningOptions.CapDrop));
        }

        if (!Capabilities(CapAdd).SetEquals(Capabilities(actual.CapAdd)))
        {
            differences.Add(Key + nameof(ContainerHardeningOptions.CapAdd));
        }

        if (NoNewPrivileges != actual.NoNewPrivileges)
        {
            differences.Add(Key + nameof(ContainerHardeningOptions.NoNewPrivileges));
        }

        if (PidsLimit != actual.PidsLimit)
        {
            differences.Add(Key + nameof(ContainerHardeningOptions.PidsLimit));
        }

        // The engine's default driver is whatever daemon.json says; there is nothing of ours to compare.
        if (LogDriver.Length > 0
            && (LogDriver != actual.LogDriver
                || LogOptions.Count != actual.LogOptions.Count
                || LogOptions.Any(o => !actual.LogOptions.TryGetValue(o.Key, out var value) || value != o.Value)))
        {
            differences.Add(Key + nameof(ContainerHardeningOptions.Logging));
        }

        return differences;
    }

    /// <summary>True for the spellings of <c>no-new-privileges</c> the engine accepts.</summary>
    public static bool IsNoNewPrivileges(string securityOption) =>
        securityOption is "no-new-privileges" or NoNewPrivilegesOption or "no-new-privileges=true";

    /// <summary>A capability as the engine may report it (<c>cap_net_raw</c>, <c>CAP_NET_RAW</c>), as we write it (<c>NET_RAW</c>).</summary>
    public static string NormalizeCapability(string capability)
    {
        ArgumentNullException.ThrowIfNull(capability);
        var upper = capability.Trim().ToUpperInvariant();
        return upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper[4..] : upper;
    }

    /// <summary>The entries of a comma-separated setting; <c>none</c> is the empty list.</summary>
    internal static IReadOnlyList<string> List(string? text, bool upper)
    {
        var items = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items is [var only] && string.Equals(only, ContainerHardeningOptions.None, StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }

        return upper ? [.. items.Select(NormalizeCapability).Distinct(StringComparer.Ordinal)] : [.. items.Distinct(StringComparer.Ordinal)];
    }

    private static HashSet<string> Capabilities(IEnumerable<string> capabilities) =>
        capabilities.Select(NormalizeCapability).ToHashSet(StringComparer.Ordinal);

    private static bool SameTmpfs(IReadOnlyDictionary<string, string> expected, IReadOnlyDictionary<string, string> actual) =>
        expected.Count == actual.Count
        && expected.All(e => actual.TryGetValue(e.Key, out var options) && MountOptions(options).SetEquals(MountOptions(e.Value)));

    private static HashSet<string> MountOptions(string options) =>
        options.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
}
