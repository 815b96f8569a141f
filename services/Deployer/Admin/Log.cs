namespace StudentPerformance.Deployer.Admin;

// Event ids 1027, 1095 and 1096 (of the 1000-1099 block the rollout and worker share) belong to the admin API.
// No method takes the token.
internal static partial class Log
{
    [LoggerMessage(1027, LogLevel.Information, "Admin command: {Command}")]
    public static partial void AdminCommand(ILogger logger, string command);

    [LoggerMessage(1095, LogLevel.Warning, "Admin request refused with {Status}: {Reason} ({Method} {Path})")]
    public static partial void RequestRefused(ILogger logger, int status, string reason, string method, string path);

    [LoggerMessage(1096, LogLevel.Warning, "Created the admin token file {Path} (mode 0600); the admin API needs its token")]
    public static partial void TokenCreated(ILogger logger, string path);
}
