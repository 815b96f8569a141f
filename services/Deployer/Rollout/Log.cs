namespace StudentPerformance.Deployer.Rollout;

// Event ids 1000-1099 belong to the rollout and the worker (1027 to the admin API, 1030 to hosting). No method takes a token, password or key.
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Rollout {RolloutId} ({Kind}) of {Image}@{Digest} started")]
    public static partial void RolloutStarted(ILogger logger, string rolloutId, string kind, string image, string digest);

    [LoggerMessage(1001, LogLevel.Information, "Rollout {RolloutId} step {Step} started")]
    public static partial void StepStarted(ILogger logger, string rolloutId, string step);

    [LoggerMessage(1002, LogLevel.Information, "Rollout {RolloutId} step {Step} done in {DurationMs:0} ms")]
    public static partial void StepFinished(ILogger logger, string rolloutId, string step, double durationMs);

    [LoggerMessage(1003, LogLevel.Warning, "Rollout {RolloutId} step {Step} failed after {DurationMs:0} ms: {Reason}")]
    public static partial void StepFailed(ILogger logger, string rolloutId, string step, double durationMs, string reason);

    [LoggerMessage(1004, LogLevel.Information, "Rollout {RolloutId} finished: {Outcome} in {DurationMs:0} ms, downtime {DowntimeMs} ms: {Detail}")]
    public static partial void RolloutFinished(ILogger logger, string rolloutId, RolloutOutcome outcome, double durationMs, double? downtimeMs, string detail);

    [LoggerMessage(1005, LogLevel.Warning, "Rollout {RolloutId} quarantined {Digest} until the tag moves: {Reason}")]
    public static partial void Quarantined(ILogger logger, string rolloutId, string digest, string reason);

    [LoggerMessage(1006, LogLevel.Error, "Rollout {RolloutId} could not finish the rollback ({Reason}); reconciliation retries on the next tick")]
    public static partial void RollbackIncomplete(ILogger logger, string rolloutId, string reason);

    [LoggerMessage(1007, LogLevel.Warning, "Rollout {RolloutId}: there is no '{PreviousName}' to restore")]
    public static partial void NothingToRestore(ILogger logger, string rolloutId, string previousName);

    [LoggerMessage(1008, LogLevel.Warning, "Rollout {RolloutId}: {FreeMiB} MiB free on Docker's data root, below {MinFreeMiB} MiB; pruning")]
    public static partial void DiskLow(ILogger logger, string rolloutId, long freeMiB, long minFreeMiB);

    [LoggerMessage(1009, LogLevel.Information, "Rollout {RolloutId} pruned image {Reference}: removed {Removed}")]
    public static partial void ImagePruned(ILogger logger, string rolloutId, string reference, bool removed);

    [LoggerMessage(1010, LogLevel.Warning, "Rollout {RolloutId}: the registry refused the pull credentials; fetching fresh ones and retrying once")]
    public static partial void PullUnauthorized(ILogger logger, string rolloutId);

    [LoggerMessage(1011, LogLevel.Warning, "Reconcile: removed {Name}, a preflight container left by an interrupted rollout")]
    public static partial void RepairRemovedPreflight(ILogger logger, string name);

    [LoggerMessage(1015, LogLevel.Warning, "Reconcile: '{Name}' was {Status}; starting it")]
    public static partial void RepairStartingCurrent(ILogger logger, string name, string status);

    [LoggerMessage(1016, LogLevel.Warning, "Reconcile: '{Name}' is {Status} and '{PreviousName}' exists; restoring it (rollout {RolloutId})")]
    public static partial void RepairRestoringPrevious(ILogger logger, string name, string status, string previousName, string rolloutId);

    [LoggerMessage(1017, LogLevel.Warning, "Reconcile: '{Name}' and '{PreviousName}' both exist: an interrupted rollout; gating '{Name}' again (rollout {RolloutId})")]
    public static partial void RepairGatingAgain(ILogger logger, string name, string previousName, string rolloutId);

    [LoggerMessage(1012, LogLevel.Warning, "Could not remove container {Name} ({Reason})")]
    public static partial void CleanupFailed(ILogger logger, string name, string reason);

    [LoggerMessage(1013, LogLevel.Warning, "Rollback requested, but no earlier good digest than {Running} is known")]
    public static partial void NothingToRollBackTo(ILogger logger, string running);

    [LoggerMessage(1014, LogLevel.Warning, "Webhook notification {Event} failed: {Reason}")]
    public static partial void WebhookFailed(ILogger logger, string @event, string reason);

    [LoggerMessage(1018, LogLevel.Warning, "Webhook notification {Event} failed: HTTP {StatusCode}")]
    public static partial void WebhookRejected(ILogger logger, string @event, int statusCode);

    [LoggerMessage(1020, LogLevel.Information, "Deployer started: tracking {Image}:{Tag}, container '{Container}', mode {Mode}, polling every {PollInterval}")]
    public static partial void WorkerStarted(ILogger logger, string image, string tag, string container, string mode, TimeSpan pollInterval);

    [LoggerMessage(1021, LogLevel.Debug, "Check: {Image}:{Tag} is {Digest}; decision {Action}")]
    public static partial void Checked(ILogger logger, string image, string tag, string? digest, string action);

    [LoggerMessage(1022, LogLevel.Information, "New digest {Digest} for {Image}:{Tag}; decision {Action}")]
    public static partial void NewDigest(ILogger logger, string image, string tag, string digest, string action);

    [LoggerMessage(1023, LogLevel.Warning, "Registry check failed, the running container is left alone: {Reason}")]
    public static partial void RegistryCheckFailed(ILogger logger, string reason);

    [LoggerMessage(1024, LogLevel.Warning, "Docker engine call failed, the running container is left alone: {Reason}")]
    public static partial void DockerUnavailable(ILogger logger, string reason);

    [LoggerMessage(1025, LogLevel.Information, "Adopted the unmanaged container '{Container}': it already runs {Digest}")]
    public static partial void Adopted(ILogger logger, string container, string digest);

    [LoggerMessage(1026, LogLevel.Information, "Monitor mode: would roll out {Digest} (running {Running})")]
    public static partial void WouldDeploy(ILogger logger, string digest, string running);

    [LoggerMessage(1028, LogLevel.Error, "Unexpected error in the deployer loop; it continues on the next tick")]
    public static partial void TickFailed(ILogger logger, Exception exception);

    [LoggerMessage(1031, LogLevel.Warning, "Rollout {RolloutId}: Docker's data root is not visible here, so free space is not checked; mount it and set Deployer:Disk:DataRootPath")]
    public static partial void DiskUnmeasurable(ILogger logger, string rolloutId);

    [LoggerMessage(1060, LogLevel.Warning, "Docker's data root has {FreeMiB} MiB free, below Deployer:Disk:MinFreeMiB ({MinFreeMiB} MiB): container logs and the next pull may fail")]
    public static partial void DiskLowOnCheck(ILogger logger, long freeMiB, long minFreeMiB);

    [LoggerMessage(1061, LogLevel.Debug, "Free space on Docker's data root not measured this tick: {Reason}")]
    public static partial void DiskNotMeasured(ILogger logger, string reason);

    [LoggerMessage(1070, LogLevel.Warning, "Reconcile: removed {Name}, a container that is neither the live slot nor a rollout's candidate")]
    public static partial void RepairRemovedStraySlot(ILogger logger, string name);

    [LoggerMessage(1071, LogLevel.Warning, "Reconcile: rollout {InterruptedId} was interrupted in phase {Phase} with candidate slot {Candidate}; repairing (rollout {RolloutId})")]
    public static partial void RepairInterruptedSlotRollout(ILogger logger, string interruptedId, string phase, string candidate, string rolloutId);

    [LoggerMessage(1072, LogLevel.Warning, "Rollout {RolloutId}: the previous slot no longer runs, so '{Name}' stays live although its gate was interrupted")]
    public static partial void KeptInterruptedCandidate(ILogger logger, string rolloutId, string name);

    [LoggerMessage(1073, LogLevel.Warning, "Edge '{Name}' runs another image than Deployer:Edge:Image ({Image}); replacing it")]
    public static partial void EdgeReplaced(ILogger logger, string name, string image);

    [LoggerMessage(1074, LogLevel.Information, "Edge '{Name}' created, routing to slot {Live}")]
    public static partial void EdgeCreated(ILogger logger, string name, Edge.EdgeSlot live);

    [LoggerMessage(1075, LogLevel.Warning, "Edge '{Name}' was {Status}; starting it")]
    public static partial void EdgeStarted(ILogger logger, string name, string status);

    [LoggerMessage(1076, LogLevel.Warning, "Edge '{Name}': its configuration changed; restarting it to read the file")]
    public static partial void EdgeRestarted(ILogger logger, string name);

    [LoggerMessage(1077, LogLevel.Warning, "Edge runtime state did not route to the live slot {Live}; switching it back")]
    public static partial void EdgeRealigned(ILogger logger, Edge.EdgeSlot live);

    [LoggerMessage(1078, LogLevel.Error, "Cannot move '{Name}' behind the edge: it runs no digest of {Image}; remove it or push that image")]
    public static partial void MigrationImpossible(ILogger logger, string name, string image);

    [LoggerMessage(1079, LogLevel.Warning, "Rollout {RolloutId}: migrating '{Name}' (Recreate) to slot '{Slot}' behind the edge; clients see one short gap")]
    public static partial void MigrationStarted(ILogger logger, string rolloutId, string name, string slot);

    [LoggerMessage(1080, LogLevel.Warning, "The live container '{Name}' restarted {Restarts} times within Deployer:CrashLoop:Window ({Window}); it is not rolled back automatically")]
    public static partial void CrashLoop(ILogger logger, string name, int restarts, TimeSpan window);

    [LoggerMessage(1081, LogLevel.Warning, "Rollout {RolloutId}: the engine no longer has {Digest} (removed after the pull); pulling it again")]
    public static partial void ImageVanished(ILogger logger, string rolloutId, string digest);

    [LoggerMessage(1082, LogLevel.Warning, "Reconcile: '{Name}' (the Recreate layout) was started beside the slots and holds the edge's ports; removing it")]
    public static partial void LegacyContainerRemoved(ILogger logger, string name);

    [LoggerMessage(1083, LogLevel.Error, "State: {Which} at {Path} could not be read ({Error})")]
    public static partial void StateUnreadable(ILogger logger, string which, string path, string error);

    [LoggerMessage(1084, LogLevel.Error, "State: neither {Path} nor its last good copy could be read; starting from an empty state, which reconciliation fills in from the containers and the edge's file")]
    public static partial void StateRebuilt(ILogger logger, string path);

    [LoggerMessage(1085, LogLevel.Warning, "Reconcile: the edge's file names {FileLive}, its runtime state routes to {RuntimeLive}, and the slots that run and answer SERVING are {Serving}; making the edge and the file route to {Chosen}")]
    public static partial void LiveDisagreement(ILogger logger, string fileLive, string runtimeLive, string serving, StudentPerformance.Deployer.Edge.EdgeSlot chosen);

    [LoggerMessage(1086, LogLevel.Warning, "'{Name}' is left running: {Reason}")]
    public static partial void SlotKept(ILogger logger, string name, string reason);

    [LoggerMessage(1087, LogLevel.Warning, "Reconcile: the edge's runtime API does not answer; nothing is switched or removed this tick")]
    public static partial void RepairEdgeSilent(ILogger logger);

    [LoggerMessage(1088, LogLevel.Warning, "Rollout {RolloutId}: the retire did not finish ({Error}); '{Name}' stays live and reconciliation finishes it")]
    public static partial void RetireIncomplete(ILogger logger, string rolloutId, string error, string name);

    [LoggerMessage(1089, LogLevel.Warning, "Rollout {RolloutId}: {Detail}")]
    public static partial void StateNotWritten(ILogger logger, string rolloutId, string detail);

    [LoggerMessage(1090, LogLevel.Information, "Reconcile: the state was rebuilt; recorded {Digest}, which the live slot '{Name}' runs and which answers SERVING, as good")]
    public static partial void StateRebuiltGood(ILogger logger, string digest, string name);

    [LoggerMessage(1091, LogLevel.Warning, "Admin command '{Command}' not carried out: {Reason}")]
    public static partial void CommandRefused(ILogger logger, string command, string reason);
}
