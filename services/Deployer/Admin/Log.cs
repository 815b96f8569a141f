namespace StudentPerformance.Deployer.Admin;

// Event id 1027 (of the 1000-1099 block the rollout and worker share) belong to the admin API.
internal static partial class Log
{
    [LoggerMessage(1027, LogLevel.Information, "Admin command: {Command}")]
    public static partial void AdminCommand(ILogger logger, string command);
}
