namespace StudentPerformance.Deployer.Edge;

// Event ids 5000-5099 belong to the edge.
internal static partial class Log
{
    [LoggerMessage(5000, LogLevel.Information, "Edge configuration written to {Path} (live slot {Live})")]
    public static partial void ConfigWritten(ILogger logger, string path, EdgeSlot live);

    [LoggerMessage(5001, LogLevel.Information, "Edge switched to slot {Live} in {Elapsed}; slot {Old} drains")]
    public static partial void Switched(ILogger logger, EdgeSlot live, TimeSpan elapsed, EdgeSlot old);

    [LoggerMessage(5002, LogLevel.Warning, "Edge switch to slot {Slot} failed: it was not UP in every backend within {Timeout}; slot {Old} keeps serving")]
    public static partial void SwitchFailed(ILogger logger, EdgeSlot slot, TimeSpan timeout, EdgeSlot old);

    [LoggerMessage(5003, LogLevel.Information, "Edge drained slot {Slot} in {Elapsed}")]
    public static partial void Drained(ILogger logger, EdgeSlot slot, TimeSpan elapsed);

    [LoggerMessage(5004, LogLevel.Warning, "Edge drain of slot {Slot} timed out after {Elapsed}; {Sessions} calls cut")]
    public static partial void DrainTimedOut(ILogger logger, EdgeSlot slot, TimeSpan elapsed, int sessions);

    [LoggerMessage(5005, LogLevel.Warning, "Edge runtime API did not take '{Command}' ({Error}); trying again in {Delay} (Deployer:Edge:RuntimeApiWait)")]
    public static partial void RuntimeApiRetry(ILogger logger, string command, string error, TimeSpan delay);

    [LoggerMessage(5006, LogLevel.Information, "Edge retired slot {Old}: slot {Live} and its standby serve; the file says so")]
    public static partial void Retired(ILogger logger, EdgeSlot old, EdgeSlot live);

    [LoggerMessage(5007, LogLevel.Error, "Edge image {Image} could not be pulled ({Error}); the running edge is kept and /status says why")]
    public static partial void EdgeImageUnavailable(ILogger logger, string image, string error);

    [LoggerMessage(5008, LogLevel.Warning, "Edge switch to slot {Slot}: the edge shows it in maintenance in {Backend} (it restarted from its file); enabling it again")]
    public static partial void SwitchReapplied(ILogger logger, EdgeSlot slot, string backend);

    [LoggerMessage(5009, LogLevel.Information, "Edge certificate {Certificate} checked and copied to {Path}")]
    public static partial void CertificateCopied(ILogger logger, string certificate, string path);

    [LoggerMessage(5010, LogLevel.Information, "Edge now serves certificate {Certificate} on new handshakes (runtime API; open connections kept)")]
    public static partial void CertificateRotated(ILogger logger, string certificate);

    [LoggerMessage(5011, LogLevel.Warning, "Edge did not take certificate {Certificate} ({Error}); it keeps its current one and the next tick tries again")]
    public static partial void CertificateNotApplied(ILogger logger, string certificate, string error);

    [LoggerMessage(5012, LogLevel.Error, "Edge certificate file {Path} refused: {Reason}; the edge keeps serving its current certificate (Deployer:Edge:Tls:CertificatePath)")]
    public static partial void CertificateRefused(ILogger logger, string path, string reason);
}
