namespace StudentPerformance.Deployer.Admin;

// Event ids 1027 and 1029 (of the 1000-1099 block the rollout and worker share) belong to the admin API.
internal static partial class Log
{
    [LoggerMessage(1027, LogLevel.Information, "Admin command: {Command}")]
    public static partial void AdminCommand(ILogger logger, string command);

    [LoggerMessage(1029, LogLevel.Information, "Admin endpoint listening on {Url}")]
    public static partial void AdminListening(ILogger logger, string url);
}
