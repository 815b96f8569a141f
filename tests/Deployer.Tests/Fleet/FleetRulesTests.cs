using StudentPerformance.Deployer.Fleet;

namespace Deployer.Tests.Fleet;

public class FleetRulesTests
{
    private const string Digest = "sha256:aaaa";
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset Wall = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Next_NoRecord_Claims() =>
        Assert.Equal(FleetMove.Claim, FleetRules.Next(null, "a", null, TimeSpan.Zero, Lease));

    [Theory]
    [InlineData(FleetVerdict.Baked, FleetMove.RollOut)]
    [InlineData(FleetVerdict.Refused, FleetMove.Refuse)]
    [InlineData(FleetVerdict.RolledBack, FleetMove.Refuse)]
    public void Next_Verdict_IsFollowedByEveryHost(FleetVerdict verdict, FleetMove expected)
    {
        var record = Held("b", version: 3) with { Verdict = verdict, VerdictBy = "b" };

        Assert.Equal(expected, FleetRules.Next(record, "a", null, TimeSpan.Zero, Lease));
        Assert.Equal(expected, FleetRules.Next(record, "b", null, TimeSpan.Zero, Lease));
    }

    [Fact]
    public void Next_AnotherHolderJustSeen_Waits()
    {
        var record = Held("b", version: 1);
        var sighting = FleetRules.Observe(null, Digest, record, TimeSpan.FromSeconds(100));

        Assert.Equal(FleetMove.Wait, FleetRules.Next(record, "a", sighting, TimeSpan.FromSeconds(100), Lease));
    }

    [Fact]
    public void Next_LeaseUnchangedForItsDuration_Claims()
    {
        var record = Held("b", version: 1);
        var sighting = FleetRules.Observe(null, Digest, record, TimeSpan.FromSeconds(100));

        var before = FleetRules.Next(record, "a", FleetRules.Observe(sighting, Digest, record, TimeSpan.FromSeconds(129)), TimeSpan.FromSeconds(129), Lease);
        var after = FleetRules.Next(record, "a", FleetRules.Observe(sighting, Digest, record, TimeSpan.FromSeconds(130)), TimeSpan.FromSeconds(130), Lease);

        Assert.Equal(FleetMove.Wait, before);
        Assert.Equal(FleetMove.Claim, after);
    }

    [Fact]
    public void Next_HolderRenewedWithinTheLease_KeepsWaiting()
    {
        var first = Held("b", version: 1);
        var sighting = FleetRules.Observe(null, Digest, first, TimeSpan.FromSeconds(100));
        var renewed = first with { Version = 2 };

        // The renewal is seen 40 s after the first read: a new version starts the count again.
        var seen = FleetRules.Observe(sighting, Digest, renewed, TimeSpan.FromSeconds(140));

        Assert.Equal(TimeSpan.FromSeconds(140), seen!.SeenAt);
        Assert.Equal(FleetMove.Wait, FleetRules.Next(renewed, "a", seen, TimeSpan.FromSeconds(140), Lease));
    }

    [Fact]
    public void Next_HolderWallClockFarBehindOrAhead_IsIgnored()
    {
        // The holder's clock says its lease ran out an hour ago (or runs for another hour): only this host's
        // observation of the version counts.
        var stale = Held("b", version: 5) with { LeaseExpiresAt = Wall - TimeSpan.FromHours(1) };
        var farAhead = Held("b", version: 5) with { LeaseExpiresAt = Wall + TimeSpan.FromHours(1) };
        var sighting = FleetRules.Observe(null, Digest, stale, TimeSpan.FromSeconds(10));

        Assert.Equal(FleetMove.Wait, FleetRules.Next(stale, "a", sighting, TimeSpan.FromSeconds(10), Lease));
        Assert.Equal(FleetMove.Claim, FleetRules.Next(farAhead, "a", sighting, TimeSpan.FromSeconds(40), Lease));
    }

    [Fact]
    public void Next_OwnClaimAfterARestart_ClaimsAgain() =>
        Assert.Equal(FleetMove.Claim, FleetRules.Next(Held("a", version: 4), "a", null, TimeSpan.Zero, Lease));

    [Fact]
    public void Next_NoSightingYet_NeverTakesALeaseOver() =>
        Assert.Equal(FleetMove.Wait, FleetRules.Next(Held("b", version: 1), "a", null, TimeSpan.FromDays(1), Lease));

    [Fact]
    public void Observe_AnotherDigest_StartsAgain()
    {
        var sighting = FleetRules.Observe(null, Digest, Held("b", 1), TimeSpan.FromSeconds(1));
        var other = Held("b", 1) with { Digest = "sha256:bbbb" };

        var next = FleetRules.Observe(sighting, "sha256:bbbb", other, TimeSpan.FromSeconds(50));

        Assert.Equal(TimeSpan.FromSeconds(50), next!.SeenAt);
        Assert.False(FleetRules.LeaseExpired(other, next, TimeSpan.FromSeconds(60), Lease));
    }

    [Theory]
    [InlineData(FleetMove.Claim, null, "sha256:old", Digest)]
    [InlineData(FleetMove.RollOut, "sha256:run", "sha256:old", Digest)]
    [InlineData(FleetMove.Wait, null, "sha256:old", "sha256:old")]
    [InlineData(FleetMove.Refuse, null, "sha256:old", "sha256:old")]
    [InlineData(FleetMove.Wait, "sha256:run", "sha256:old", null)]
    [InlineData(FleetMove.Refuse, "sha256:run", "sha256:old", null)]
    [InlineData(FleetMove.Refuse, null, null, null)]
    [InlineData(FleetMove.Wait, null, Digest, null)]
    public void Target_AHostThatRunsNothing_StartsFromTheLastBakedDigest(FleetMove move, string? running, string? lastBaked, string? expected) =>
        Assert.Equal(expected, FleetRules.Target(move, Digest, running, lastBaked));

    [Fact]
    public void BakedAfter_KeepsNewestFirstAndDropsRolledBack()
    {
        IReadOnlyList<string> baked = ["sha256:2", "sha256:1"];

        var afterBake = FleetRules.BakedAfter(baked, "sha256:3", FleetVerdict.Baked, keep: 2);
        var afterRollback = FleetRules.BakedAfter(afterBake, "sha256:3", FleetVerdict.RolledBack);

        Assert.Equal(["sha256:3", "sha256:2"], afterBake);
        Assert.Equal(["sha256:2"], afterRollback);
    }

    [Fact]
    public void VerdictFor_OnlyASuccessBakes()
    {
        Assert.Equal(FleetVerdict.Baked, FleetRules.VerdictFor(true));
        Assert.Equal(FleetVerdict.Refused, FleetRules.VerdictFor(false));
    }

    private static FleetRecord Held(string holder, long version) =>
        new(Digest, version, holder, Wall, Wall + Lease, FleetVerdict.Pending, null, null, null, null, []);
}
