using System.Globalization;
using System.Text.RegularExpressions;

namespace StudentPerformance.Deployer.Containers;

/// <summary>
/// Checks <see cref="ContainerHardeningOptions"/> at start. Every message names its key, and an empty list
/// setting is an error rather than a quiet "off": turning a list off takes the word <c>none</c>.
/// </summary>
internal static partial class ContainerHardeningValidator
{
    private static readonly string[] Drivers = [ContainerLoggingOptions.JsonFile, ContainerLoggingOptions.Local, ContainerLoggingOptions.EngineDefault];

    // capabilities(7), as the engine's --cap-add and --cap-drop name them.
    private static readonly HashSet<string> KnownCapabilities = new(StringComparer.Ordinal)
    {
        "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE", "CHOWN",
        "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE",
        "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST",
        "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT",
        "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME",
        "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
    };

    /// <summary>Adds one message per bad setting; <paramref name="section"/> is <c>Deployer:Container:Hardening</c>.</summary>
    public static void Validate(ContainerHardeningOptions options, string section, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);

        if (RequireList(errors, $"{section}:Tmpfs", options.Tmpfs) is { Count: > 0 } paths)
        {
            foreach (var path in paths.Where(p => !IsMountPath(p)))
            {
                errors.Add($"{section}:Tmpfs ('{options.Tmpfs}'): '{path}' must be an absolute path other than / without ':' (or the whole value 'none').");
            }

            if (options.TmpfsSizeMiB < 1)
            {
                errors.Add($"{section}:TmpfsSizeMiB ({options.TmpfsSizeMiB}) must be at least 1; a tmpfs without a size may take half the host's memory.");
            }
        }

        foreach (var (key, value) in new[] { ("CapDrop", options.CapDrop), ("CapAdd", options.CapAdd) })
        {
            var capabilities = RequireList(errors, $"{section}:{key}", value);
            foreach (var capability in capabilities ?? [])
            {
                var name = ContainerHardening.NormalizeCapability(capability);
                if (!KnownCapabilities.Contains(name) && !(name == "ALL" && capabilities!.Count == 1))
                {
                    errors.Add($"{section}:{key} ('{value}'): '{capability}' is not a Linux capability such as NET_BIND_SERVICE (ALL only on its own, 'none' for none).");
                }
            }
        }

        if (options.PidsLimit < 0)
        {
            errors.Add($"{section}:PidsLimit ({options.PidsLimit}) must be positive, or 0 for no limit.");
        }

        var logging = options.Logging;
        if (!Drivers.Contains(logging.Driver, StringComparer.Ordinal))
        {
            errors.Add($"{section}:Logging:Driver ('{logging.Driver}') must be one of {string.Join(", ", Drivers)}.");
        }
        else if (logging.Driver != ContainerLoggingOptions.EngineDefault)
        {
            if (!DockerSize().IsMatch(logging.MaxSize ?? ""))
            {
                errors.Add($"{section}:Logging:MaxSize ('{logging.MaxSize}') must be a size in Docker's notation such as 10m (a whole number and k, m or g).");
            }

            if (logging.MaxFile is < 1 or > 100)
            {
                errors.Add($"{section}:Logging:MaxFile ({logging.MaxFile.ToString(CultureInfo.InvariantCulture)}) must be 1-100.");
            }
        }
    }

    /// <summary>The entries of a list setting, or null (and an error) when it is empty.</summary>
    private static IReadOnlyList<string>? RequireList(List<string> errors, string key, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)
            || (ContainerHardening.List(value, upper: false).Count == 0
                && !string.Equals(value.Trim(), ContainerHardeningOptions.None, StringComparison.OrdinalIgnoreCase)))
        {
            errors.Add($"{key} is empty: list the values separated by commas, or write '{ContainerHardeningOptions.None}' to turn it off.");
            return null;
        }

        return ContainerHardening.List(value, upper: false);
    }

    private static bool IsMountPath(string path) =>
        path.Length > 1 && path[0] == '/' && !path.Contains(':', StringComparison.Ordinal) && !path.Any(char.IsWhiteSpace);

    [GeneratedRegex("^[1-9][0-9]{0,9}[kmgKMG]$")]
    private static partial Regex DockerSize();
}
