using StudentPerformance.Bench.Cli;

namespace StudentPerformance.Bench.Modes;

internal static class RolloutMode
{
    public static Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        options.ThrowOnUnknown();
        _ = cancellationToken;
        throw new UsageException("rollout: not wired yet");
    }
}
