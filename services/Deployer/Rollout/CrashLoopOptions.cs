namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// Section <c>Deployer:CrashLoop</c>: outside a rollout's bake, the live container restarting
/// <see cref="MaxRestarts"/> times within <see cref="Window"/> is reported (log, metric, webhook, /status). The deployer
/// does not roll back by itself then: the last good digest may be just as broken by whatever changed.
/// </summary>
public sealed class CrashLoopOptions
{
    public const string SectionName = "Deployer:CrashLoop";

    /// <summary>The window the restarts are counted in.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Restarts within <see cref="Window"/> that make a crash loop.</summary>
    public int MaxRestarts { get; set; } = 3;
}
