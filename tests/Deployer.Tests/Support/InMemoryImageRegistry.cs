using StudentPerformance.Deployer.Registry;

namespace Deployer.Tests.Support;

/// <summary>
/// A registry in memory: tags that point at digests, the images behind them, and pull credentials that expire
/// (as ECR tokens do after 12 h). Credentials are cached until <see cref="InvalidateCredentials"/>, like the real
/// implementations; <see cref="ExpireCredentials"/> makes the cached ones stale so the engine refuses them.
/// </summary>
public sealed class InMemoryImageRegistry(string imageName) : IImageRegistry
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, string> _tags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (ImageBehaviour Behaviour, long Size)> _published = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _manifests = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private int _generation = 1;
    private RegistryCredentials? _cached;

    public string ImageName { get; } = imageName;

    /// <summary>Thrown by the next <see cref="ResolveDigestAsync"/> calls while set.</summary>
    public Exception? ResolveFault { get; set; }

    public int CredentialFetches { get; private set; }

    public int Invalidations { get; private set; }

    /// <summary>Pushes an image and points <paramref name="tag"/> at it.</summary>
    public void Push(string tag, string digest, ImageBehaviour behaviour, long size = 100L * 1024 * 1024)
    {
        lock (_gate)
        {
            _published[digest] = (behaviour, size);
            _tags[tag] = digest;
        }
    }

    /// <summary>Stores a cosign signature of <paramref name="digest"/> made by <paramref name="signer"/>.</summary>
    public void Sign(string digest, CosignSigner signer, string? signedDigest = null)
    {
        var payload = CosignSigner.Payload(ImageName, signedDigest ?? digest);
        lock (_gate)
        {
            _blobs[CosignSigner.Digest(payload)] = payload;
            _manifests[CosignSignature.SignatureTag(digest)] = CosignSigner.Manifest(CosignSigner.Config, payload, signer.Sign(payload));
        }
    }

    /// <summary>Thrown by the next manifest and blob reads while set.</summary>
    public Exception? ArtifactFault { get; set; }

    public Task<byte[]?> GetManifestAsync(string reference, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ArtifactFault is { } fault
                ? Task.FromException<byte[]?>(fault)
                : Task.FromResult(_manifests.TryGetValue(reference, out var manifest) ? manifest : null);
        }
    }

    public Task<byte[]?> GetBlobAsync(string digest, int maxBytes, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ArtifactFault is { } fault
                ? Task.FromException<byte[]?>(fault)
                : Task.FromResult(_blobs.TryGetValue(digest, out var blob) && blob.Length <= maxBytes ? blob : null);
        }
    }

    /// <summary>The registry stops accepting the credentials it issued so far.</summary>
    public void ExpireCredentials()
    {
        lock (_gate)
        {
            _generation++;
        }
    }

    public Task<string?> ResolveDigestAsync(string tag, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ResolveFault is { } fault
                ? Task.FromException<string?>(fault)
                : Task.FromResult(_tags.TryGetValue(tag, out var digest) ? digest : null);
        }
    }

    public Task<RegistryCredentials?> GetPullCredentialsAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_cached is null)
            {
                CredentialFetches++;
                _cached = new RegistryCredentials(ImageName.Split('/')[0], "AWS", $"token-{_generation}");
            }

            return Task.FromResult<RegistryCredentials?>(_cached);
        }
    }

    public void InvalidateCredentials()
    {
        lock (_gate)
        {
            Invalidations++;
            _cached = null;
        }
    }

    /// <summary>What the engine checks on pull: credentials of the current generation.</summary>
    internal bool Accepts(RegistryCredentials? credentials)
    {
        lock (_gate)
        {
            return credentials?.Password == $"token-{_generation}";
        }
    }

    internal (ImageBehaviour Behaviour, long Size)? Published(string digest)
    {
        lock (_gate)
        {
            return _published.TryGetValue(digest, out var image) ? image : null;
        }
    }
}
