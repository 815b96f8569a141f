using System.Text.Json;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Fleet;

/// <summary>
/// The fleet protocol on this host: reads the digest's record, lets <see cref="FleetRules"/> decide, claims with a
/// conditional write and renews the claim while the canary rolls out, then writes the verdict. The table failing or
/// hanging is answered with <see cref="FleetGo.Unavailable"/>: nothing new is rolled out and the live digest serves.
/// </summary>
internal sealed class FleetCoordinator(
    IFleetStore store,
    IHostIdentity identity,
    IFleetEvents events,
    QualityGateHistory quality,
    IOptions<FleetOptions> options,
    TimeProvider time,
    ILogger<FleetCoordinator> logger) : IFleetGate, IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly FleetOptions _options = options.Value;
    private readonly Lock _gate = new();
    private LeaseSighting? _sighting;
    private Claim? _claim;
    private string? _role;
    private string? _lastError;
    private DateTimeOffset? _checkedAt;

    public async Task<FleetClearance> ClearAsync(string image, string digest, string? runningDigest, CancellationToken cancellationToken)
    {
        await StopRenewalAsync().ConfigureAwait(false);
        try
        {
            var hostId = await identity.GetHostIdAsync(cancellationToken).ConfigureAwait(false);
            var record = await store.GetAsync(image, digest, cancellationToken).ConfigureAwait(false);
            var now = FleetRules.MonotonicNow(time);
            LeaseSighting? sighting;
            lock (_gate)
            {
                sighting = _sighting = FleetRules.Observe(_sighting, digest, record, now);
                _checkedAt = time.GetUtcNow();
                _lastError = null;
            }

            var move = FleetRules.Next(record, hostId, sighting, now, _options.LeaseDuration);
            switch (move)
            {
                case FleetMove.Claim:
                    return await ClaimAsync(image, digest, hostId, record, cancellationToken).ConfigureAwait(false);
                case FleetMove.RollOut:
                    _role = $"follower of {record!.VerdictBy}";
                    return new FleetClearance(FleetGo.Follower, digest, $"baked on {record.VerdictBy}");
            }

            string? refused = null;
            if (move == FleetMove.Refuse)
            {
                refused = $"{record!.Verdict} fleet-wide by {record.VerdictBy}: {record.Reason}";
                Log.RefusedByFleet(logger, digest, record.Verdict, record.VerdictBy ?? "?", record.Reason ?? "");
            }
            else
            {
                Log.Waiting(logger, digest, record!.Holder ?? "?");
            }

            var baked = runningDigest is null ? First(await store.BakedAsync(image, cancellationToken).ConfigureAwait(false)) : null;
            if (FleetRules.Target(move, digest, runningDigest, baked) is { } target)
            {
                Log.StartingFromBaked(logger, target, digest);
                _role = "follower (last baked digest)";
                return new FleetClearance(FleetGo.Follower, target, $"runs nothing: starting from the last baked digest while {digest} is {(refused is null ? "with its canary" : "refused")}", refused);
            }

            _role = refused is null ? $"waiting for the canary {record.Holder}" : null;
            return refused is null
                ? new FleetClearance(FleetGo.Wait, null, $"waiting for the canary {record.Holder}")
                : new FleetClearance(FleetGo.Refused, null, refused, refused);
        }
        catch (FleetStoreException ex)
        {
            Log.StoreUnavailable(logger, ex.Message);
            lock (_gate)
            {
                _lastError = ex.Message;
                _checkedAt = time.GetUtcNow();
            }

            await events.PublishAsync(new FleetEvent("unavailable", image, digest, _options.HostId, ex.Message), cancellationToken).ConfigureAwait(false);
            return new FleetClearance(FleetGo.Unavailable, null, $"fleet table unavailable: {ex.Message}");
        }
    }

    public async Task ReportAsync(string image, FleetReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        var claim = await StopRenewalAsync().ConfigureAwait(false);
        if (claim is not null && claim.Digest != report.Digest)
        {
            claim = null;
        }

        try
        {
            var hostId = await identity.GetHostIdAsync(cancellationToken).ConfigureAwait(false);
            if (claim is not null)
            {
                await DecideAsync(image, hostId, claim, report, cancellationToken).ConfigureAwait(false);
            }

            var outcome = report.Succeeded ? "live" : $"failed: {report.Detail}";
            await store.RecordHostAsync(image, report.Digest, new FleetHost(hostId, claim is null ? "follower" : "canary", outcome, time.GetUtcNow()), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (FleetStoreException ex)
        {
            // The verdict is not written: the claim's lease runs out and another host bakes the digest again.
            Log.RecordFailed(logger, "this host's rollout", report.Digest, ex.Message);
            _lastError = ex.Message;
        }
    }

    public async Task RecordRollbackAsync(string image, string digest, CancellationToken cancellationToken)
    {
        try
        {
            var hostId = await identity.GetHostIdAsync(cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow();
            await store.RecordRollbackAsync(image, digest, hostId, "rolled back by the operator", now, cancellationToken).ConfigureAwait(false);
            await store.UpdateBakedAsync(image, baked => FleetRules.BakedAfter(baked, digest, FleetVerdict.RolledBack), cancellationToken).ConfigureAwait(false);
            await store.RecordHostAsync(image, digest, new FleetHost(hostId, "operator", "rolled back", now), cancellationToken).ConfigureAwait(false);
            Log.RollbackRecorded(logger, digest);
            await events.PublishAsync(new FleetEvent("rolled-back", image, digest, hostId, "rolled back by the operator"), cancellationToken).ConfigureAwait(false);
        }
        catch (FleetStoreException ex)
        {
            Log.RecordFailed(logger, "the operator's rollback", digest, ex.Message);
            _lastError = ex.Message;
        }
    }

    public async Task<FleetView> DescribeAsync(string image, string? digest, CancellationToken cancellationToken)
    {
        string? hostId = null;
        try
        {
            hostId = await identity.GetHostIdAsync(cancellationToken).ConfigureAwait(false);
            var record = digest is null ? null : await store.GetAsync(image, digest, cancellationToken).ConfigureAwait(false);
            var baked = First(await store.BakedAsync(image, cancellationToken).ConfigureAwait(false));
            return new FleetView(true, hostId, Role(), record, baked, _checkedAt, _lastError);
        }
        catch (FleetStoreException ex)
        {
            return new FleetView(true, hostId, Role(), null, null, _checkedAt, ex.Message);
        }
    }

    public async ValueTask DisposeAsync() => await StopRenewalAsync().ConfigureAwait(false);

    private string? Role()
    {
        var claim = _claim;
        return claim is not null ? $"canary of {claim.Digest}{(claim.Lost is null ? "" : " (claim lost)")}" : _role;
    }

    private async Task<FleetClearance> ClaimAsync(string image, string digest, string hostId, FleetRecord? record, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var expected = record?.Version ?? 0;
        if (!await store.TryClaimAsync(image, digest, hostId, expected, now, now + _options.LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            _role = "waiting: another host claimed first";
            return new FleetClearance(FleetGo.Wait, null, "another host claimed the digest first");
        }

        var claim = new Claim(digest, expected + 1);
        claim.Renewal = RenewAsync(image, hostId, claim);
        lock (_gate)
        {
            _claim = claim;
        }

        Log.Claimed(logger, hostId, digest, claim.Version, record?.Holder ?? "none");
        await events.PublishAsync(new FleetEvent("claimed", image, digest, hostId, record?.Holder is { } previous && previous != hostId
            ? $"took over from {previous}, whose lease ran out"
            : "canary"), cancellationToken).ConfigureAwait(false);
        return new FleetClearance(FleetGo.Canary, digest, record?.Holder is { } holder && holder != hostId ? $"canary (took over from {holder})" : "canary");
    }

    private async Task DecideAsync(string image, string hostId, Claim claim, FleetReport report, CancellationToken cancellationToken)
    {
        if (claim.Lost is { } lost)
        {
            Log.ClaimLost(logger, hostId, claim.Digest, lost);
            return;
        }

        var verdict = FleetRules.VerdictFor(report.Succeeded);
        var gate = quality.ForRollout(report.RolloutId) is { } q ? JsonSerializer.Serialize(q, Json) : null;
        var decided = await store.TryDecideAsync(image, claim.Digest, hostId, claim.Version, verdict, report.Detail, gate, time.GetUtcNow(), cancellationToken).ConfigureAwait(false)
            || (await OwnVersionAsync(image, hostId, claim, cancellationToken).ConfigureAwait(false)
                && await store.TryDecideAsync(image, claim.Digest, hostId, claim.Version, verdict, report.Detail, gate, time.GetUtcNow(), cancellationToken).ConfigureAwait(false));
        if (!decided)
        {
            Log.ClaimLost(logger, hostId, claim.Digest, "the record moved on before the verdict");
            await events.PublishAsync(new FleetEvent("lost", image, claim.Digest, hostId, "another host took the claim over before the verdict"), cancellationToken).ConfigureAwait(false);
            return;
        }

        Log.Decided(logger, hostId, verdict, claim.Digest, report.Detail);
        if (verdict == FleetVerdict.Baked)
        {
            await store.UpdateBakedAsync(image, baked => FleetRules.BakedAfter(baked, claim.Digest, verdict), cancellationToken).ConfigureAwait(false);
        }

        await events.PublishAsync(new FleetEvent(verdict == FleetVerdict.Baked ? "baked" : "refused", image, claim.Digest, hostId, report.Detail), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// After a lost conditional write: a write that timed out here may have landed, so the record may be at a version
    /// this host wrote itself. True (and the claim takes that version) when this host still holds an undecided record.
    /// </summary>
    private async Task<bool> OwnVersionAsync(string image, string hostId, Claim claim, CancellationToken cancellationToken)
    {
        var record = await store.GetAsync(image, claim.Digest, cancellationToken).ConfigureAwait(false);
        if (record is { Verdict: FleetVerdict.Pending } && record.Holder == hostId && record.Version != claim.Version)
        {
            claim.Version = record.Version;
            return true;
        }

        return false;
    }

    private async Task RenewAsync(string image, string hostId, Claim claim)
    {
        while (true)
        {
            try
            {
                await Task.Delay(_options.RenewInterval, time, claim.Stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Not cancelled by the stop: a renewal that lands after a cancellation would leave the version unknown here.
            try
            {
                if (await store.TryRenewAsync(image, claim.Digest, hostId, claim.Version, time.GetUtcNow() + _options.LeaseDuration, CancellationToken.None).ConfigureAwait(false))
                {
                    claim.Version++;
                    continue;
                }

                if (await OwnVersionAsync(image, hostId, claim, CancellationToken.None).ConfigureAwait(false))
                {
                    continue;
                }

                claim.Lost = "another host took the claim over";
                Log.ClaimLost(logger, hostId, claim.Digest, claim.Lost);
                await events.PublishAsync(new FleetEvent("lost", image, claim.Digest, hostId, claim.Lost), CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (FleetStoreException ex)
            {
                Log.RenewFailed(logger, claim.Digest, ex.Message);
            }
        }
    }

    /// <summary>Stops renewing the current claim, if any, and hands it back.</summary>
    private async Task<Claim?> StopRenewalAsync()
    {
        Claim? claim;
        lock (_gate)
        {
            claim = _claim;
            _claim = null;
        }

        if (claim is null)
        {
            return null;
        }

        await claim.Stop.CancelAsync().ConfigureAwait(false);
        await claim.Renewal.ConfigureAwait(false);
        claim.Stop.Dispose();
        return claim;
    }

    private static string? First(IReadOnlyList<string> digests) => digests.Count > 0 ? digests[0] : null;

    private sealed class Claim(string digest, long version)
    {
        public string Digest { get; } = digest;

        public long Version { get; set; } = version;

        public string? Lost { get; set; }

        public CancellationTokenSource Stop { get; } = new();

        public Task Renewal { get; set; } = Task.CompletedTask;
    }
}
