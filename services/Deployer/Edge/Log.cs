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
}
