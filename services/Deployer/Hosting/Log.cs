namespace StudentPerformance.Deployer.Hosting;

// Event id 1030 (of the 1000-1099 block the rollout and worker share) belongs to the docker pipelines set up here.
internal static partial class Log
{
    [LoggerMessage(1030, LogLevel.Warning, "Docker call failed ({Reason}); retry {Attempt} in {Delay}")]
    public static partial void DockerRetry(ILogger logger, string reason, int attempt, TimeSpan delay);
}
