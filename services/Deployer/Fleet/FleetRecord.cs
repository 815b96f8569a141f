using System.Text.Json.Serialization;

namespace StudentPerformance.Deployer.Fleet;

/// <summary>What the fleet decided about one digest.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FleetVerdict>))]
public enum FleetVerdict
{
    /// <summary>No verdict yet: a canary may hold it, or nobody has claimed it.</summary>
    Pending,

    /// <summary>The canary passed every gate and the full bake: every host may roll it out.</summary>
    Baked,

    /// <summary>The canary refused it: quarantined on every host.</summary>
    Refused,

    /// <summary>An operator rolled it back on a host: no host rolls it forward again.</summary>
    RolledBack,
}

/// <summary>One host's part in a digest's rollout, as it reported it.</summary>
/// <param name="HostId">The host's <c>Deployer:Fleet:HostId</c> (or instance id).</param>
/// <param name="Role"><c>canary</c> or <c>follower</c>.</param>
/// <param name="Outcome">The host's rollout outcome (<c>Succeeded</c>, <c>Refused</c>, …) or <c>rolled back</c>.</param>
/// <param name="At">When the host wrote it, by its own clock.</param>
public sealed record FleetHost(string HostId, string Role, string Outcome, DateTimeOffset At);

/// <summary>
/// The fleet's record of one digest. <see cref="Version"/> grows with every claim, renewal and verdict: each of those
/// writes is conditional on the version its writer read, so of two hosts only one wins.
/// </summary>
public sealed record FleetRecord(
    string Digest,
    long Version,
    string? Holder,
    DateTimeOffset? ClaimedAt,
    DateTimeOffset? LeaseExpiresAt,
    FleetVerdict Verdict,
    string? Reason,
    string? GateReport,
    string? VerdictBy,
    DateTimeOffset? VerdictAt,
    IReadOnlyList<FleetHost> Hosts);

/// <summary>What the worker may do with a digest the registry offers.</summary>
public enum FleetGo
{
    /// <summary>Fleet coordination is off: roll out as a single host.</summary>
    Alone,

    /// <summary>This host claimed the digest: roll it out with every gate and the full bake, then report.</summary>
    Canary,

    /// <summary>The digest baked on a canary (or it is the last baked digest for a host that runs nothing).</summary>
    Follower,

    /// <summary>Another host is the canary and has not decided yet: keep serving what runs.</summary>
    Wait,

    /// <summary>The fleet refused the digest or an operator rolled it back: quarantine it here too.</summary>
    Refused,

    /// <summary>The table did not answer in time: roll nothing new out, keep serving what runs.</summary>
    Unavailable,
}

/// <summary>
/// The fleet's answer for one digest. <see cref="Digest"/> is what to roll out (it differs from the digest asked about
/// when a host that runs nothing starts from the last baked digest). <see cref="RefusedReason"/> is set when the digest
/// asked about is refused fleet-wide and must be quarantined locally.
/// </summary>
public sealed record FleetClearance(FleetGo Go, string? Digest, string Detail, string? RefusedReason = null)
{
    public bool RollOut => Go is FleetGo.Alone or FleetGo.Canary or FleetGo.Follower && Digest is not null;

    public static FleetClearance Alone(string digest) => new(FleetGo.Alone, digest, "fleet coordination is off");
}

/// <summary>A host's rollout of a digest the fleet cleared, as the worker's record has it.</summary>
public sealed record FleetReport(string Digest, string RolloutId, bool Succeeded, string Detail);

/// <summary>A fleet event for the metrics and the webhook: <c>claimed</c>, <c>baked</c>, <c>refused</c>, <c>lost</c>, <c>rolled-back</c>.</summary>
public sealed record FleetEvent(string Event, string Image, string Digest, string HostId, string Detail);

/// <summary>What /status shows of the fleet.</summary>
public sealed record FleetView(
    bool Enabled,
    string? HostId,
    string? Role,
    FleetRecord? Record,
    string? LastBakedDigest,
    DateTimeOffset? CheckedAt,
    string? LastError);
