using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Registry;

/// <summary>Whether a digest may be pulled, as its signature says.</summary>
public interface IImageSignatureVerifier
{
    /// <summary>
    /// Looks up the cosign signatures of <paramref name="digest"/> and checks them against <c>Deployer:Signature</c>.
    /// Throws <see cref="RegistryException"/> when the registry cannot answer (that says nothing about the image).
    /// </summary>
    Task<SignatureVerdict> VerifyAsync(string digest, CancellationToken cancellationToken);
}

/// <summary>The answer: <see cref="Trusted"/> or not, and why, in words for the quarantine list and the logs.</summary>
public sealed record SignatureVerdict(bool Trusted, string Detail)
{
    public static SignatureVerdict Trust(string detail) => new(true, detail);

    public static SignatureVerdict Refuse(string detail) => new(false, detail);
}

/// <summary>
/// Verifies cosign's key-based signatures through <see cref="IImageRegistry"/>: the manifest tagged
/// <c>sha256-&lt;hex&gt;.sig</c>, each layer's simple-signing payload blob, the ECDSA signature in its annotation over
/// those bytes, and the digest the payload names. One valid signature by a configured key is enough.
/// </summary>
internal sealed class ImageSignatureVerifier : IImageSignatureVerifier, IDisposable
{
    // cosign appends one layer per signature; a manifest with hundreds is an attempt to make us download a lot.
    private const int MaxSignatureLayers = 32;

    private readonly IImageRegistry _registry;
    private readonly SignatureOptions _options;
    private readonly ILogger<ImageSignatureVerifier> _logger;
    private readonly Lazy<IReadOnlyList<ECDsa>> _keys;

    public ImageSignatureVerifier(IImageRegistry registry, IOptions<SignatureOptions> options, ILogger<ImageSignatureVerifier> logger)
    {
        _registry = registry;
        _options = options.Value;
        _logger = logger;
        _keys = new Lazy<IReadOnlyList<ECDsa>>(() => string.IsNullOrWhiteSpace(_options.PublicKeyPath)
            ? []
            : CosignSignature.LoadPublicKeys(File.ReadAllText(_options.PublicKeyPath)));
    }

    public async Task<SignatureVerdict> VerifyAsync(string digest, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(digest);
        var keys = _keys.Value;
        if (keys.Count == 0)
        {
            return SignatureVerdict.Trust($"not checked: {SignatureOptions.SectionName}:PublicKeyPath is not set");
        }

        var tag = CosignSignature.SignatureTag(digest);
        var manifest = await _registry.GetManifestAsync(tag, cancellationToken).ConfigureAwait(false);
        var layers = manifest is null ? [] : CosignSignature.SignatureLayers(manifest);
        if (layers.Count == 0)
        {
            var unsigned = manifest is null
                ? $"unsigned: the registry has no cosign signature for it (no tag {tag})"
                : $"unsigned: the manifest tagged {tag} holds no cosign signature";
            if (_options.Required)
            {
                return SignatureVerdict.Refuse(unsigned + $", and {SignatureOptions.SectionName}:Required is true");
            }

            Log.UnsignedAllowed(_logger, digest);
            return SignatureVerdict.Trust(unsigned + $"; allowed because {SignatureOptions.SectionName}:Required is false");
        }

        var otherKey = 0;
        var otherDigest = 0;
        foreach (var layer in layers.Take(MaxSignatureLayers))
        {
            if (layer.Size > CosignSignature.MaxPayloadBytes)
            {
                continue;
            }

            var payload = await _registry.GetBlobAsync(layer.PayloadDigest, CosignSignature.MaxPayloadBytes, cancellationToken).ConfigureAwait(false);
            var signer = payload is null ? null : keys.FirstOrDefault(k => CosignSignature.Verifies(k, payload, layer.Signature));
            if (signer is null)
            {
                otherKey++;
                continue;
            }

            if (CosignSignature.SignedDigest(payload!) != digest)
            {
                // A valid signature by our key, copied from another image's .sig: it vouches for that image only.
                otherDigest++;
                continue;
            }

            var fingerprint = CosignSignature.Fingerprint(signer);
            Log.SignatureVerified(_logger, digest, layer.PayloadDigest, fingerprint);
            return SignatureVerdict.Trust($"signed by key {fingerprint} of {SignatureOptions.SectionName}:PublicKeyPath");
        }

        return SignatureVerdict.Refuse(otherDigest > 0
            ? $"its signature by a configured key names another digest ({otherDigest} of {layers.Count} signatures)"
            : keys.Count == 1
                ? $"signed, but not by the key at {SignatureOptions.SectionName}:PublicKeyPath ({otherKey} signature(s) checked)"
                : $"signed, but not by any of the {keys.Count} keys at {SignatureOptions.SectionName}:PublicKeyPath ({otherKey} signature(s) checked)");
    }

    public void Dispose()
    {
        if (_keys.IsValueCreated)
        {
            foreach (var key in _keys.Value)
            {
                key.Dispose();
            }
        }
    }
}
