using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Fleet;

/// <summary>
/// <see cref="IFleetStore"/> on one DynamoDB table with a string partition key <c>pk</c>: an item per digest
/// (<c>digest#image@sha256:…</c>) and one list of baked digests per image (<c>baked#image</c>). Every read is
/// strongly consistent; each lease write is an <c>UpdateItem</c> conditional on the version its writer read.
/// </summary>
internal sealed class DynamoDbFleetStore(IAmazonDynamoDB client, IOptions<FleetOptions> options) : IFleetStore
{
    public const string PartitionKey = "pk";
    public const string TtlAttribute = "expiresAt";
    private const string HostPrefix = "host:";
    private const int BakedUpdateAttempts = 5;
    private readonly FleetOptions _options = options.Value;

    public static string DigestKey(string image, string digest) => $"digest#{image}@{digest}";

    public static string BakedKey(string image) => $"baked#{image}";

    public async Task<FleetRecord?> GetAsync(string image, string digest, CancellationToken cancellationToken)
    {
        var response = await CallAsync(ct => client.GetItemAsync(new GetItemRequest
        {
            TableName = _options.Table,
            Key = Key(DigestKey(image, digest)),
            ConsistentRead = true,
        }, ct), cancellationToken).ConfigureAwait(false);
        return response.Item is { Count: > 0 } item ? ToRecord(digest, item) : null;
    }

    public Task<bool> TryClaimAsync(string image, string digest, string hostId, long expectedVersion, DateTimeOffset now, DateTimeOffset leaseExpiresAt, CancellationToken cancellationToken) =>
        ConditionalUpdateAsync(DigestKey(image, digest),
            "SET holder = :host, claimedAt = :now, leaseExpiresAt = :lease, version = :next, expiresAt = :ttl",
            expectedVersion == 0
                ? "attribute_not_exists(pk)"
                : "version = :expected AND attribute_not_exists(verdict)",
            new()
            {
                [":host"] = S(hostId),
                [":now"] = S(Format(now)),
                [":lease"] = S(Format(leaseExpiresAt)),
                [":next"] = N(expectedVersion + 1),
                [":ttl"] = N(Ttl(now)),
                [":expected"] = N(expectedVersion),
            },
            expectedVersion == 0 ? [":expected"] : [],
            cancellationToken);

    public Task<bool> TryRenewAsync(string image, string digest, string hostId, long expectedVersion, DateTimeOffset leaseExpiresAt, CancellationToken cancellationToken) =>
        ConditionalUpdateAsync(DigestKey(image, digest),
            "SET leaseExpiresAt = :lease, version = :next",
            "version = :expected AND holder = :host AND attribute_not_exists(verdict)",
            new()
            {
                [":host"] = S(hostId),
                [":lease"] = S(Format(leaseExpiresAt)),
                [":next"] = N(expectedVersion + 1),
                [":expected"] = N(expectedVersion),
            },
            [],
            cancellationToken);

    public Task<bool> TryDecideAsync(string image, string digest, string hostId, long expectedVersion, FleetVerdict verdict, string reason, string? gateReport, DateTimeOffset at, CancellationToken cancellationToken) =>
        ConditionalUpdateAsync(DigestKey(image, digest),
            "SET verdict = :verdict, reason = :reason, gateReport = :report, verdictBy = :host, verdictAt = :at, version = :next, expiresAt = :ttl REMOVE leaseExpiresAt",
            "version = :expected AND holder = :host AND attribute_not_exists(verdict)",
            new()
            {
                [":verdict"] = S(verdict.ToString()),
                [":reason"] = S(reason),
                [":report"] = gateReport is null ? new AttributeValue { NULL = true } : S(gateReport),
                [":host"] = S(hostId),
                [":at"] = S(Format(at)),
                [":next"] = N(expectedVersion + 1),
                [":expected"] = N(expectedVersion),
                [":ttl"] = N(Ttl(at)),
            },
            [],
            cancellationToken);

    public async Task RecordRollbackAsync(string image, string digest, string hostId, string reason, DateTimeOffset at, CancellationToken cancellationToken) =>
        await CallAsync(ct => client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = _options.Table,
            Key = Key(DigestKey(image, digest)),
            UpdateExpression = "SET verdict = :verdict, reason = :reason, verdictBy = :host, verdictAt = :at, version = if_not_exists(version, :zero) + :one, expiresAt = :ttl REMOVE leaseExpiresAt",
            ExpressionAttributeValues = new()
            {
                [":verdict"] = S(nameof(FleetVerdict.RolledBack)),
                [":reason"] = S(reason),
                [":host"] = S(hostId),
                [":at"] = S(Format(at)),
                [":zero"] = N(0),
                [":one"] = N(1),
                [":ttl"] = N(Ttl(at)),
            },
        }, ct), cancellationToken).ConfigureAwait(false);

    public async Task RecordHostAsync(string image, string digest, FleetHost host, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        await CallAsync(ct => client.UpdateItemAsync(new UpdateItemRequest
        {
            TableName = _options.Table,
            Key = Key(DigestKey(image, digest)),
            UpdateExpression = "SET #host = :entry, expiresAt = :ttl",
            ExpressionAttributeNames = new() { ["#host"] = HostPrefix + host.HostId },
            ExpressionAttributeValues = new()
            {
                [":entry"] = new AttributeValue
                {
                    M = new() { ["role"] = S(host.Role), ["outcome"] = S(host.Outcome), ["at"] = S(Format(host.At)) },
                },
                [":ttl"] = N(Ttl(host.At)),
            },
        }, ct), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> BakedAsync(string image, CancellationToken cancellationToken) =>
        (await ReadBakedAsync(image, cancellationToken).ConfigureAwait(false)).Digests;

    public async Task UpdateBakedAsync(string image, Func<IReadOnlyList<string>, IReadOnlyList<string>> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        for (var attempt = 1; attempt <= BakedUpdateAttempts; attempt++)
        {
            var (version, digests) = await ReadBakedAsync(image, cancellationToken).ConfigureAwait(false);
            var next = change(digests);
            if (next.SequenceEqual(digests, StringComparer.Ordinal))
            {
                return;
            }

            var written = await ConditionalUpdateAsync(BakedKey(image),
                "SET digests = :digests, version = :next",
                version == 0 ? "attribute_not_exists(pk)" : "version = :expected",
                new()
                {
                    [":digests"] = next.Count == 0 ? new AttributeValue { L = [], IsLSet = true } : new AttributeValue { L = [.. next.Select(S)] },
                    [":next"] = N(version + 1),
                    [":expected"] = N(version),
                },
                version == 0 ? [":expected"] : [],
                cancellationToken).ConfigureAwait(false);
            if (written)
            {
                return;
            }
        }

        throw new FleetStoreException($"the list of baked digests kept changing under {BakedUpdateAttempts} attempts");
    }

    private async Task<(long Version, IReadOnlyList<string> Digests)> ReadBakedAsync(string image, CancellationToken cancellationToken)
    {
        var response = await CallAsync(ct => client.GetItemAsync(new GetItemRequest
        {
            TableName = _options.Table,
            Key = Key(BakedKey(image)),
            ConsistentRead = true,
        }, ct), cancellationToken).ConfigureAwait(false);
        if (response.Item is not { Count: > 0 } item)
        {
            return (0, []);
        }

        var digests = item.TryGetValue("digests", out var list) && list.L is { } values ? values.Select(v => v.S).ToList() : [];
        return (Long(item, "version"), digests);
    }

    private async Task<bool> ConditionalUpdateAsync(string key, string update, string condition, Dictionary<string, AttributeValue> values, IReadOnlyList<string> unused, CancellationToken cancellationToken)
    {
        foreach (var name in unused)
        {
            // DynamoDB refuses a value the expressions do not use.
            values.Remove(name);
        }

        try
        {
            await CallAsync(ct => client.UpdateItemAsync(new UpdateItemRequest
            {
                TableName = _options.Table,
                Key = Key(key),
                UpdateExpression = update,
                ConditionExpression = condition,
                ExpressionAttributeValues = values,
            }, ct), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (FleetStoreException ex) when (ex.InnerException is ConditionalCheckFailedException)
        {
            return false;
        }
    }

    /// <summary>One call with the <c>Deployer:Fleet:CallTimeout</c> deadline; every failure becomes <see cref="FleetStoreException"/>.</summary>
    private async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.CallTimeout);
        try
        {
            return await call(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FleetStoreException($"the table {_options.Table} did not answer within {_options.CallTimeout}", ex);
        }
        catch (ConditionalCheckFailedException ex)
        {
            throw new FleetStoreException("another host wrote first", ex);
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            throw new FleetStoreException($"the table {_options.Table}: {ex.Message}", ex);
        }
    }

    private long Ttl(DateTimeOffset at) => (at + _options.RecordRetention).ToUnixTimeSeconds();

    private static FleetRecord ToRecord(string digest, Dictionary<string, AttributeValue> item)
    {
        var hosts = item
            .Where(a => a.Key.StartsWith(HostPrefix, StringComparison.Ordinal) && a.Value.M is not null)
            .Select(a => new FleetHost(a.Key[HostPrefix.Length..], Str(a.Value.M, "role") ?? "", Str(a.Value.M, "outcome") ?? "", Time(a.Value.M, "at") ?? DateTimeOffset.MinValue))
            .OrderBy(h => h.At)
            .ToList();
        return new FleetRecord(
            digest,
            Long(item, "version"),
            Str(item, "holder"),
            Time(item, "claimedAt"),
            Time(item, "leaseExpiresAt"),
            Enum.TryParse<FleetVerdict>(Str(item, "verdict"), out var verdict) ? verdict : FleetVerdict.Pending,
            Str(item, "reason"),
            Str(item, "gateReport"),
            Str(item, "verdictBy"),
            Time(item, "verdictAt"),
            hosts);
    }

    private static Dictionary<string, AttributeValue> Key(string key) => new() { [PartitionKey] = S(key) };

    private static AttributeValue S(string value) => new() { S = value };

    private static AttributeValue N(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    private static string Format(DateTimeOffset value) => value.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static string? Str(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.S is { } s ? s : null;

    private static long Long(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && long.TryParse(value.N, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static DateTimeOffset? Time(Dictionary<string, AttributeValue> item, string name) =>
        Str(item, name) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : null;
}
