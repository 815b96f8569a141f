namespace StudentPerformance.Deployer.Fleet;

// Event ids 1200-1219 belong to the fleet.
internal static partial class Log
{
    [LoggerMessage(1200, LogLevel.Information, "Fleet: {HostId} claimed {Digest} as the canary (record version {Version}, previous holder {Previous})")]
    public static partial void Claimed(ILogger logger, string hostId, string digest, long version, string previous);

    [LoggerMessage(1201, LogLevel.Information, "Fleet: {Digest} waits for the canary {Holder}")]
    public static partial void Waiting(ILogger logger, string digest, string holder);

    [LoggerMessage(1202, LogLevel.Information, "Fleet: {HostId} wrote the verdict {Verdict} for {Digest}: {Reason}")]
    public static partial void Decided(ILogger logger, string hostId, FleetVerdict verdict, string digest, string reason);

    [LoggerMessage(1203, LogLevel.Warning, "Fleet: {HostId} lost its claim on {Digest} ({Why}); another host decides it")]
    public static partial void ClaimLost(ILogger logger, string hostId, string digest, string why);

    [LoggerMessage(1204, LogLevel.Warning, "Fleet: the table did not answer ({Reason}); no new digest is rolled out, the live one keeps serving")]
    public static partial void StoreUnavailable(ILogger logger, string reason);

    [LoggerMessage(1205, LogLevel.Warning, "Fleet: {Digest} is {Verdict} fleet-wide by {By}: {Reason}")]
    public static partial void RefusedByFleet(ILogger logger, string digest, FleetVerdict verdict, string by, string reason);

    [LoggerMessage(1206, LogLevel.Information, "Fleet: this host runs nothing; starting from the last baked digest {Baked} instead of {Digest}")]
    public static partial void StartingFromBaked(ILogger logger, string baked, string digest);

    [LoggerMessage(1207, LogLevel.Warning, "Fleet: renewing the claim on {Digest} failed ({Reason}); trying again")]
    public static partial void RenewFailed(ILogger logger, string digest, string reason);

    [LoggerMessage(1208, LogLevel.Warning, "Fleet: could not record {What} for {Digest} ({Reason})")]
    public static partial void RecordFailed(ILogger logger, string what, string digest, string reason);

    [LoggerMessage(1209, LogLevel.Information, "Fleet: recorded the operator's rollback of {Digest}; no host rolls it forward again")]
    public static partial void RollbackRecorded(ILogger logger, string digest);
}
