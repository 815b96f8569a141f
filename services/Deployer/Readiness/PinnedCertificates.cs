using System.Security.Cryptography.X509Certificates;

namespace StudentPerformance.Deployer.Readiness;

/// <summary>
/// The certificates the deployer's own probes accept on an https address: the edge's, pinned by SHA-1 fingerprint
/// (whoever owns the edge's certificate sets them: Edge/EdgeTls). A probe reaches the edge at 127.0.0.1, a name the
/// certificate does not carry, so the pin is the whole check; nothing else is trusted.
/// </summary>
public sealed class PinnedCertificates
{
    // Replaced whole, never changed in place: concurrent probes read a set no one writes to.
    private volatile HashSet<string> _fingerprints = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Replaces the pinned set (nulls and duplicates are ignored).</summary>
    public void Pin(params string?[] fingerprints)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        _fingerprints = fingerprints.OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>True when <paramref name="certificate"/> is one of the pinned ones.</summary>
    public bool Accepts(X509Certificate? certificate) => certificate is not null && _fingerprints.Contains(certificate.GetCertHashString());
}
