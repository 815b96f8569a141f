namespace StudentPerformance.Deployer.Fleet;

/// <summary>
/// The fleet table, in domain records. Conditional writes answer false when another host wrote first; a table that
/// cannot be reached or does not answer within <c>Deployer:Fleet:CallTimeout</c> throws <see cref="FleetStoreException"/>.
/// </summary>
public interface IFleetStore
{
    Task<FleetRecord?> GetAsync(string image, string digest, CancellationToken cancellationToken);

    /// <summary>Makes <paramref name="hostId"/> the holder if the record is still at <paramref name="expectedVersion"/> (0: no record yet) and has no verdict.</summary>
    Task<bool> TryClaimAsync(string image, string digest, string hostId, long expectedVersion, DateTimeOffset now, DateTimeOffset leaseExpiresAt, CancellationToken cancellationToken);

    /// <summary>Extends the lease if <paramref name="hostId"/> still holds it at <paramref name="expectedVersion"/>; the version moves on by one.</summary>
    Task<bool> TryRenewAsync(string image, string digest, string hostId, long expectedVersion, DateTimeOffset leaseExpiresAt, CancellationToken cancellationToken);

    /// <summary>Writes the canary's verdict if <paramref name="hostId"/> still holds the lease at <paramref name="expectedVersion"/>.</summary>
    Task<bool> TryDecideAsync(string image, string digest, string hostId, long expectedVersion, FleetVerdict verdict, string reason, string? gateReport, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Records an operator's rollback: the digest is <see cref="FleetVerdict.RolledBack"/> whatever it was.</summary>
    Task RecordRollbackAsync(string image, string digest, string hostId, string reason, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Records what one host did with the digest (not conditional: each host writes only its own entry).</summary>
    Task RecordHostAsync(string image, string digest, FleetHost host, CancellationToken cancellationToken);

    /// <summary>The baked digests of <paramref name="image"/>, newest first.</summary>
    Task<IReadOnlyList<string>> BakedAsync(string image, CancellationToken cancellationToken);

    /// <summary>Changes the baked list with a read and a conditional write, retried while other hosts write between the two.</summary>
    Task UpdateBakedAsync(string image, Func<IReadOnlyList<string>, IReadOnlyList<string>> change, CancellationToken cancellationToken);
}

/// <summary>The fleet table could not be read or written: unreachable, too slow, or refused the call.</summary>
public sealed class FleetStoreException(string message, Exception? inner = null) : Exception(message, inner);
