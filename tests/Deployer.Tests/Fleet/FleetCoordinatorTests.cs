using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Deployer.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Deployer.Fleet;
using StudentPerformance.Deployer.Readiness;

namespace Deployer.Tests.Fleet;

/// <summary>
/// The protocol between hosts, each a <see cref="FleetCoordinator"/> with its own fake clock, over the real
/// <see cref="DynamoDbFleetStore"/> on a real DynamoDB-protocol server (dynalite). No client is mocked.
/// </summary>
public sealed class FleetCoordinatorTests(DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>, IAsyncLifetime
{
    private const string Image = "127.0.0.1:5000/predictor";
    private const string Digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    private const string Older = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly List<IAsyncDisposable> _owned = [];
    private string _table = "";

    public async Task InitializeAsync() => _table = await dynalite.Server.CreateTableAsync();

    public async Task DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }
    }

    [Fact]
    public async Task Clear_FirstHostClaims_OthersWaitThenFollowTheBakedVerdict()
    {
        var a = Host("a");
        var b = Host("b");

        var canary = await a.Gate.ClearAsync(Image, Digest, Older, default);
        var waiting = await b.Gate.ClearAsync(Image, Digest, Older, default);
        await a.Gate.ReportAsync(Image, new FleetReport(Digest, "r1", Succeeded: true, "baked 30s"), default);
        var follow = await b.Gate.ClearAsync(Image, Digest, Older, default);
        await b.Gate.ReportAsync(Image, new FleetReport(Digest, "r2", Succeeded: true, "ok"), default);

        Assert.Equal(FleetGo.Canary, canary.Go);
        Assert.Equal(FleetGo.Wait, waiting.Go);
        Assert.False(waiting.RollOut);
        Assert.Equal((FleetGo.Follower, Digest), (follow.Go, follow.Digest));
        var record = await a.Store.GetAsync(Image, Digest, default);
        Assert.Equal((FleetVerdict.Baked, "a"), (record!.Verdict, record.VerdictBy));
        Assert.Equal([("a", "canary"), ("b", "follower")], record.Hosts.Select(h => (h.HostId, h.Role)));
        Assert.Equal([Digest], await a.Store.BakedAsync(Image, default));
        Assert.Equal(["claimed", "baked"], a.Events.Names);
    }

    [Fact]
    public async Task Clear_CanaryRefuses_EveryHostQuarantinesAndAFreshHostStartsFromTheLastBaked()
    {
        var a = Host("a");
        var fresh = Host("fresh");
        await a.Store.UpdateBakedAsync(Image, _ => [Older], default);

        await a.Gate.ClearAsync(Image, Digest, Older, default);
        await a.Gate.ReportAsync(Image, new FleetReport(Digest, "r1", Succeeded: false, "bake failed: the container stopped"), default);
        var running = await Host("b").Gate.ClearAsync(Image, Digest, Older, default);
        var starting = await fresh.Gate.ClearAsync(Image, Digest, runningDigest: null, default);

        Assert.Equal(FleetGo.Refused, running.Go);
        Assert.Null(running.Digest);
        Assert.Contains("bake failed: the container stopped", running.RefusedReason, StringComparison.Ordinal);
        Assert.Equal((FleetGo.Follower, Older), (starting.Go, starting.Digest));
        Assert.NotNull(starting.RefusedReason);
        Assert.Equal(["claimed", "refused"], a.Events.Names);
    }

    [Fact]
    public async Task Clear_LeaseNotRenewedForItsDuration_AnotherHostTakesOverAndTheOldCanaryCannotDecide()
    {
        var a = Host("a");
        var b = Host("b");
        await a.Gate.ClearAsync(Image, Digest, Older, default);

        var early = await b.Gate.ClearAsync(Image, Digest, Older, default);
        b.Clock.Advance(a.Options.LeaseDuration);
        var takeover = await b.Gate.ClearAsync(Image, Digest, Older, default);
        await a.Gate.ReportAsync(Image, new FleetReport(Digest, "r1", Succeeded: false, "stale canary"), default);
        await b.Gate.ReportAsync(Image, new FleetReport(Digest, "r2", Succeeded: true, "baked"), default);

        Assert.Equal(FleetGo.Wait, early.Go);
        Assert.Equal(FleetGo.Canary, takeover.Go);
        Assert.Contains("took over from a", takeover.Detail, StringComparison.Ordinal);
        var record = await a.Store.GetAsync(Image, Digest, default);
        Assert.Equal((FleetVerdict.Baked, "b"), (record!.Verdict, record.VerdictBy));
        Assert.Contains("lost", a.Events.Names);
    }

    [Fact]
    public async Task Renewal_KeepsTheLeaseWhileTheCanaryWorks()
    {
        var a = Host("a");
        var b = Host("b");
        await a.Gate.ClearAsync(Image, Digest, Older, default);
        await b.Gate.ClearAsync(Image, Digest, Older, default);

        // Three renewals, each seen by b, across twice the lease on b's clock.
        for (var renewal = 1; renewal <= 3; renewal++)
        {
            a.Clock.Advance(a.Options.RenewInterval);
            await UntilAsync(async () => (await a.Store.GetAsync(Image, Digest, default))!.Version == 1 + renewal, $"renewal {renewal}");
            b.Clock.Advance(a.Options.LeaseDuration * 2 / 3);
            Assert.Equal(FleetGo.Wait, (await b.Gate.ClearAsync(Image, Digest, Older, default)).Go);
        }

        await a.Gate.ReportAsync(Image, new FleetReport(Digest, "r1", Succeeded: true, "baked"), default);
        Assert.Equal(FleetVerdict.Baked, (await a.Store.GetAsync(Image, Digest, default))!.Verdict);
    }

    [Fact]
    public async Task Renewal_ClockJumpMakesAnotherHostTakeOver_TheOldCanaryLearnsItLostAtItsNextRenewal()
    {
        var a = Host("a");
        var b = Host("b");
        await a.Gate.ClearAsync(Image, Digest, Older, default);
        await b.Gate.ClearAsync(Image, Digest, Older, default);

        b.Clock.Advance(TimeSpan.FromHours(1));
        var takeover = await b.Gate.ClearAsync(Image, Digest, Older, default);
        a.Clock.Advance(a.Options.RenewInterval);
        await UntilAsync(() => Task.FromResult(a.Events.Names.Contains("lost")), "the old canary's renewal to fail");
        await a.Gate.ReportAsync(Image, new FleetReport(Digest, "r1", Succeeded: true, "baked on a"), default);

        Assert.Equal(FleetGo.Canary, takeover.Go);
        var record = await a.Store.GetAsync(Image, Digest, default);
        Assert.Equal((FleetVerdict.Pending, "b"), (record!.Verdict, record.Holder));
    }

    [Fact]
    public async Task Claim_LostConditionalWrite_Waits()
    {
        var store = new DynamoDbFleetStore(dynalite.Server.Client(), Options.Create(dynalite.Server.Options(_table)));
        var racing = new ClaimsFirst(store, "b");
        var a = Host("a", racing);

        var clearance = await a.Gate.ClearAsync(Image, Digest, Older, default);

        Assert.Equal(FleetGo.Wait, clearance.Go);
        Assert.Equal("b", (await store.GetAsync(Image, Digest, default))!.Holder);
        Assert.Empty(a.Events.Names);
    }

    [Fact]
    public async Task Claim_RestartedCanary_ClaimsItsDigestAgain()
    {
        var first = Host("a");
        await first.Gate.ClearAsync(Image, Digest, Older, default);

        var restarted = await Host("a").Gate.ClearAsync(Image, Digest, runningDigest: null, default);

        Assert.Equal(FleetGo.Canary, restarted.Go);
        Assert.Equal(2, (await first.Store.GetAsync(Image, Digest, default))!.Version);
    }

    [Fact]
    public async Task RecordRollback_OperatorRollsBackABakedDigest_OtherHostsRefuseItAndNewHostsStartFromTheOneBefore()
    {
        var a = Host("a");
        await a.Store.UpdateBakedAsync(Image, _ => [Older], default);
        await a.Gate.ClearAsync(Image, Digest, Older, default);
        await a.Gate.ReportAsync(Image, new FleetReport(Digest, "r1", Succeeded: true, "baked"), default);

        await a.Gate.RecordRollbackAsync(Image, Digest, default);
        var other = await Host("b").Gate.ClearAsync(Image, Digest, Older, default);

        Assert.Equal(FleetGo.Refused, other.Go);
        Assert.Contains("RolledBack fleet-wide by a", other.RefusedReason, StringComparison.Ordinal);
        Assert.Equal([Older], await a.Store.BakedAsync(Image, default));
    }

    [Fact]
    public async Task Clear_TableUnreachable_RollsNothingOut()
    {
        var options = dynalite.Server.Options(_table);
        options.ServiceUrl = $"http://127.0.0.1:{ClosedPort()}";
        var a = Host("a", options: options);

        var clearance = await a.Gate.ClearAsync(Image, Digest, Older, default);
        var fresh = await a.Gate.ClearAsync(Image, Digest, runningDigest: null, default);
        var view = await a.Gate.DescribeAsync(Image, Digest, default);

        Assert.Equal((FleetGo.Unavailable, null), (clearance.Go, clearance.Digest));
        Assert.False(fresh.RollOut);
        Assert.NotNull(view.LastError);
        Assert.Equal(["unavailable", "unavailable"], a.Events.Names);
    }

    [Fact]
    public async Task Clear_TableHangs_AnswersUnavailableWithinTheCallTimeout()
    {
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start(backlog: 16);
        var options = dynalite.Server.Options(_table);
        options.ServiceUrl = $"http://127.0.0.1:{((IPEndPoint)blackHole.LocalEndpoint).Port}";
        var a = Host("a", options: options);
        var clock = Stopwatch.StartNew();

        var clearance = await a.Gate.ClearAsync(Image, Digest, Older, default);

        Assert.Equal(FleetGo.Unavailable, clearance.Go);
        Assert.Contains("did not answer within", clearance.Detail, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < options.CallTimeout * 4, $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Report_TableUnreachableAtTheVerdict_WritesNothingAndTheLeaseRunsOut()
    {
        var store = new DynamoDbFleetStore(dynalite.Server.Client(), Options.Create(dynalite.Server.Options(_table)));
        var failing = new FailsAfterClaim(store);
        var a = Host("a", failing);
        var b = Host("b");
        await a.Gate.ClearAsync(Image, Digest, Older, default);

        await a.Gate.ReportAsync(Image, new FleetReport(Digest, "r1", Succeeded: true, "baked"), default);
        await b.Gate.ClearAsync(Image, Digest, Older, default);
        b.Clock.Advance(b.Options.LeaseDuration);
        var takeover = await b.Gate.ClearAsync(Image, Digest, Older, default);

        Assert.Equal(FleetVerdict.Pending, (await store.GetAsync(Image, Digest, default))!.Verdict);
        Assert.Equal(FleetGo.Canary, takeover.Go);
    }

    [Fact]
    public async Task Store_ConditionalWrites_OnlyOneOfTwoWins()
    {
        var store = new DynamoDbFleetStore(dynalite.Server.Client(), Options.Create(dynalite.Server.Options(_table)));
        var now = DateTimeOffset.UnixEpoch;

        var first = await store.TryClaimAsync(Image, Digest, "a", 0, now, now.AddMinutes(1), default);
        var second = await store.TryClaimAsync(Image, Digest, "b", 0, now, now.AddMinutes(1), default);
        var renewByOther = await store.TryRenewAsync(Image, Digest, "b", 1, now.AddMinutes(2), default);
        var renew = await store.TryRenewAsync(Image, Digest, "a", 1, now.AddMinutes(2), default);
        var staleDecide = await store.TryDecideAsync(Image, Digest, "a", 1, FleetVerdict.Baked, "x", null, now, default);
        var decide = await store.TryDecideAsync(Image, Digest, "a", 2, FleetVerdict.Baked, "x", "{\"rmse\":1}", now, default);
        var claimAfterVerdict = await store.TryClaimAsync(Image, Digest, "b", 3, now, now.AddMinutes(1), default);

        Assert.Equal([true, false, false, true, false, true, false], new[] { first, second, renewByOther, renew, staleDecide, decide, claimAfterVerdict });
        var record = await store.GetAsync(Image, Digest, default);
        Assert.Equal((3L, FleetVerdict.Baked, "{\"rmse\":1}"), (record!.Version, record.Verdict, record.GateReport));
    }

    private Peer Host(string id, IFleetStore? store = null, FleetOptions? options = null)
    {
        options ??= dynalite.Server.Options(_table, id);
        options.HostId = id;
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        store ??= new DynamoDbFleetStore(FleetServiceCollectionExtensions.CreateClient(options, new Amazon.Runtime.BasicAWSCredentials("t", "t")), Options.Create(options));
        var events = new RecordedEvents();
        var gate = new FleetCoordinator(store, new HostIdentity(new NoClients(), Options.Create(options)), events, new QualityGateHistory(), Options.Create(options), clock,
            NullLogger<FleetCoordinator>.Instance);
        _owned.Add(gate);
        return new Peer(gate, store, clock, events, options);
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var started = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(started.Elapsed < Patience, $"waited {Patience} for {what}");
            await Task.Delay(20);
        }
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record Peer(FleetCoordinator Gate, IFleetStore Store, FakeTimeProvider Clock, RecordedEvents Events, FleetOptions Options);

    private sealed class RecordedEvents : IFleetEvents
    {
        private readonly List<string> _names = [];

        public IReadOnlyList<string> Names
        {
            get
            {
                lock (_names)
                {
                    return [.. _names];
                }
            }
        }

        public Task PublishAsync(FleetEvent fleetEvent, CancellationToken cancellationToken)
        {
            lock (_names)
            {
                _names.Add(fleetEvent.Event);
            }

            return Task.CompletedTask;
        }
    }

    private sealed class NoClients : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => throw new InvalidOperationException("the host id is configured");
    }

    /// <summary>The real store, with host <c>other</c> claiming between this host's read and its claim.</summary>
    private sealed class ClaimsFirst(IFleetStore inner, string other) : DelegatingStore(inner)
    {
        public override async Task<bool> TryClaimAsync(string image, string digest, string hostId, long expectedVersion, DateTimeOffset now, DateTimeOffset leaseExpiresAt, CancellationToken cancellationToken)
        {
            Assert.True(await Inner.TryClaimAsync(image, digest, other, expectedVersion, now, leaseExpiresAt, cancellationToken));
            return await Inner.TryClaimAsync(image, digest, hostId, expectedVersion, now, leaseExpiresAt, cancellationToken);
        }
    }

    /// <summary>The real store until the claim; then the table is gone (every write fails as unreachable).</summary>
    private sealed class FailsAfterClaim(IFleetStore inner) : DelegatingStore(inner)
    {
        public override Task<bool> TryDecideAsync(string image, string digest, string hostId, long expectedVersion, FleetVerdict verdict, string reason, string? gateReport, DateTimeOffset at, CancellationToken cancellationToken) =>
            throw new FleetStoreException("the table did not answer within 00:00:01.5000000");

        public override Task RecordHostAsync(string image, string digest, FleetHost host, CancellationToken cancellationToken) =>
            throw new FleetStoreException("the table did not answer within 00:00:01.5000000");
    }

    private abstract class DelegatingStore(IFleetStore inner) : IFleetStore
    {
        protected IFleetStore Inner { get; } = inner;

        public Task<FleetRecord?> GetAsync(string image, string digest, CancellationToken cancellationToken) => Inner.GetAsync(image, digest, cancellationToken);

        public virtual Task<bool> TryClaimAsync(string image, string digest, string hostId, long expectedVersion, DateTimeOffset now, DateTimeOffset leaseExpiresAt, CancellationToken cancellationToken) =>
            Inner.TryClaimAsync(image, digest, hostId, expectedVersion, now, leaseExpiresAt, cancellationToken);

        public Task<bool> TryRenewAsync(string image, string digest, string hostId, long expectedVersion, DateTimeOffset leaseExpiresAt, CancellationToken cancellationToken) =>
            Inner.TryRenewAsync(image, digest, hostId, expectedVersion, leaseExpiresAt, cancellationToken);

        public virtual Task<bool> TryDecideAsync(string image, string digest, string hostId, long expectedVersion, FleetVerdict verdict, string reason, string? gateReport, DateTimeOffset at, CancellationToken cancellationToken) =>
            Inner.TryDecideAsync(image, digest, hostId, expectedVersion, verdict, reason, gateReport, at, cancellationToken);

        public Task RecordRollbackAsync(string image, string digest, string hostId, string reason, DateTimeOffset at, CancellationToken cancellationToken) =>
            Inner.RecordRollbackAsync(image, digest, hostId, reason, at, cancellationToken);

        public virtual Task RecordHostAsync(string image, string digest, FleetHost host, CancellationToken cancellationToken) =>
            Inner.RecordHostAsync(image, digest, host, cancellationToken);

        public Task<IReadOnlyList<string>> BakedAsync(string image, CancellationToken cancellationToken) => Inner.BakedAsync(image, cancellationToken);

        public Task UpdateBakedAsync(string image, Func<IReadOnlyList<string>, IReadOnlyList<string>> change, CancellationToken cancellationToken) =>
            Inner.UpdateBakedAsync(image, change, cancellationToken);
    }
}
