namespace StudentPerformance.Deployer.Fleet;

/// <summary>What this host does next about a digest, judged from the fleet record alone.</summary>
public enum FleetMove
{
    /// <summary>Nobody holds the digest (or the holder's lease ran out, or the holder is this host): claim it.</summary>
    Claim,

    /// <summary>Another host holds a live lease: wait for its verdict.</summary>
    Wait,

    /// <summary>Baked on a canary: roll it out.</summary>
    RollOut,

    /// <summary>Refused or rolled back: never roll it out.</summary>
    Refuse,
}

/// <summary>
/// When this host first saw the record at <see cref="Version"/>, on its own monotonic clock. A lease is judged by
/// how long its version stayed unchanged here, never by the holder's wall clock, so hosts with clocks that disagree
/// (or a clock that jumps) cannot take a lease that is still being renewed.
/// </summary>
public sealed record LeaseSighting(string Digest, long Version, TimeSpan SeenAt);

/// <summary>The fleet protocol's decisions, free of I/O: each rule has a unit test.</summary>
public static class FleetRules
{
    /// <summary>The sighting after reading <paramref name="record"/>: kept while the version stays, restarted when it moves.</summary>
    public static LeaseSighting? Observe(LeaseSighting? previous, string digest, FleetRecord? record, TimeSpan now) => record switch
    {
        null => null,
        _ when previous is not null && previous.Digest == digest && previous.Version == record.Version => previous,
        _ => new LeaseSighting(digest, record.Version, now),
    };

    public static FleetMove Next(FleetRecord? record, string hostId, LeaseSighting? sighting, TimeSpan now, TimeSpan leaseDuration)
    {
        if (record is null)
        {
            return FleetMove.Claim;
        }

        switch (record.Verdict)
        {
            case FleetVerdict.Baked:
                return FleetMove.RollOut;
            case FleetVerdict.Refused or FleetVerdict.RolledBack:
                return FleetMove.Refuse;
        }

        // A restarted canary takes its own claim up again; an unheld record is free.
        if (record.Holder is null || string.Equals(record.Holder, hostId, StringComparison.Ordinal))
        {
            return FleetMove.Claim;
        }

        return LeaseExpired(record, sighting, now, leaseDuration) ? FleetMove.Claim : FleetMove.Wait;
    }

    /// <summary>The holder has not written for a whole lease, as this host's clock measures it since it first saw that version.</summary>
    public static bool LeaseExpired(FleetRecord record, LeaseSighting? sighting, TimeSpan now, TimeSpan leaseDuration)
    {
        ArgumentNullException.ThrowIfNull(record);
        return sighting is not null
            && sighting.Digest == record.Digest
            && sighting.Version == record.Version
            && now - sighting.SeenAt >= leaseDuration;
    }

    /// <summary>
    /// What to roll out for <paramref name="move"/>. A host that runs nothing (a replacement, a scale-out) starts from
    /// the last baked digest while the digest asked about waits for its canary or was refused.
    /// </summary>
    public static string? Target(FleetMove move, string digest, string? runningDigest, string? lastBaked) => move switch
    {
        FleetMove.Claim or FleetMove.RollOut => digest,
        _ when runningDigest is null && lastBaked is not null && lastBaked != digest => lastBaked,
        _ => null,
    };

    /// <summary>The verdict a canary writes for its rollout's outcome.</summary>
    public static FleetVerdict VerdictFor(bool succeeded) => succeeded ? FleetVerdict.Baked : FleetVerdict.Refused;

    /// <summary>The baked digests, newest first, after <paramref name="verdict"/> on <paramref name="digest"/>; at most <paramref name="keep"/>.</summary>
    public static IReadOnlyList<string> BakedAfter(IReadOnlyList<string> baked, string digest, FleetVerdict verdict, int keep = 10)
    {
        ArgumentNullException.ThrowIfNull(baked);
        var others = baked.Where(d => d != digest);
        return verdict == FleetVerdict.Baked ? [.. new[] { digest }.Concat(others).Take(keep)] : [.. others];
    }

    /// <summary>The monotonic "now" the lease rules use.</summary>
    public static TimeSpan MonotonicNow(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return TimeSpan.FromSeconds(time.GetTimestamp() / (double)time.TimestampFrequency);
    }
}
