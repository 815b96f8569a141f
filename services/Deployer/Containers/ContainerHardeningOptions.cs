namespace StudentPerformance.Deployer.Containers;

/// <summary>
/// Section <c>Deployer:Container:Hardening</c>: what every container the deployer creates (the live one, the
/// preflight candidate, and any later slot or edge) is denied. The defaults are the hardened values and match
/// docker-compose.yml; docs/security.md lists each setting and how to turn it off.
/// </summary>
/// <remarks>
/// Capability lists are comma-separated strings, not configuration arrays: a bound array is appended to a
/// default (so <c>CapDrop</c> could never lose its <c>ALL</c>), and an empty array cannot be written as an
/// environment variable at all. A string replaces the default, and turning a list off takes the word
/// <c>none</c>, so "off" is always written down and never the accident of an empty value.
/// </remarks>
public sealed class ContainerHardeningOptions
{
    /// <summary>The value that turns off a list setting (<see cref="CapDrop"/>, <see cref="CapAdd"/>, <see cref="Tmpfs"/>).</summary>
    public const string None = "none";

    /// <summary>Mounts the image's root filesystem read-only (<c>--read-only</c>). Off: <c>false</c>.</summary>
    public bool ReadOnlyRootFs { get; set; } = true;

    /// <summary>
    /// Comma-separated absolute paths that get a tmpfs of <see cref="TmpfsSizeMiB"/> each (rw, noexec, nosuid,
    /// nodev); the only writable paths when the root is read-only. Off: <c>none</c>.
    /// </summary>
    public string Tmpfs { get; set; } = "/tmp";

    /// <summary>Size limit of each tmpfs, in MiB; it counts against the container's memory.</summary>
    public int TmpfsSizeMiB { get; set; } = 64;

    /// <summary>
    /// Comma-separated Linux capabilities to drop (<c>--cap-drop</c>), or <c>ALL</c>. Off (keep Docker's default
    /// set): <c>none</c>.
    /// </summary>
    public string CapDrop { get; set; } = "ALL";

    /// <summary>Comma-separated capabilities to add back after <see cref="CapDrop"/>; <c>none</c> adds nothing.</summary>
    public string CapAdd { get; set; } = None;

    /// <summary>
    /// <c>--security-opt no-new-privileges:true</c>: no process in the container gains privileges through setuid
    /// binaries or file capabilities. Off: <c>false</c>.
    /// </summary>
    public bool NoNewPrivileges { get; set; } = true;

    /// <summary>Most processes and threads the container may hold (<c>--pids-limit</c>). Off: <c>0</c>.</summary>
    public long PidsLimit { get; set; } = 512;

    /// <summary>The log driver and its rotation, section <c>Deployer:Container:Hardening:Logging</c>.</summary>
    public ContainerLoggingOptions Logging { get; set; } = new();
}

/// <summary>
/// Section <c>Deployer:Container:Hardening:Logging</c>: how the engine keeps a container's stdout and stderr.
/// With rotation a chatty or crash-looping container holds at most <see cref="MaxSize"/> × <see cref="MaxFile"/>.
/// </summary>
public sealed class ContainerLoggingOptions
{
    /// <summary>The driver that takes <see cref="MaxSize"/> and <see cref="MaxFile"/> and keeps files on Docker's data root.</summary>
    public const string JsonFile = "json-file";

    /// <summary>Docker's compressed file driver; takes <see cref="MaxSize"/> and <see cref="MaxFile"/> too.</summary>
    public const string Local = "local";

    /// <summary>Whatever the engine's daemon.json says, with no options of ours: rotation is off unless the host sets it.</summary>
    public const string EngineDefault = "engine-default";

    /// <summary><c>json-file</c> or <c>local</c>. Off (the engine's default driver, unbounded unless daemon.json bounds it): <c>engine-default</c>.</summary>
    public string Driver { get; set; } = JsonFile;

    /// <summary>Size at which a log file is rotated, in Docker's notation: a number with <c>k</c>, <c>m</c> or <c>g</c>.</summary>
    public string MaxSize { get; set; } = "10m";

    /// <summary>Log files kept per container, the current one included.</summary>
    public int MaxFile { get; set; } = 3;
}
