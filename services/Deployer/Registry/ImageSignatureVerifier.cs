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
/// those bytes, and the digest the payload names. One valid signature by the configured key is enough.
/// </summary>
internal sealed class ImageSignatureVerifier : IImageSignatureVerifier, IDisposable
{
    // cosign appends one layer per signature; a manifest with hundreds is an attempt to make us download a lot.
    private const int MaxSignatureLayers = 32;

    private readonly IImageRegistry _registry;
    private readonly SignatureOptions _options;
    private readonly ILogger<ImageSignatureVerifier> _logger;
    private readonly Lazy<ECDsa?> _key;

    public ImageSignatureVerifier(IImageRegistry registry, IOptions<SignatureOptions> options, ILogger<ImageSignatureVerifier> logger)
    {
        _registry = registry;
        _options = options.Value;
        _logger = logger;
        _key = new Lazy<ECDsa?>(() => string.IsNullOrWhiteSpace(_options.PublicKeyPath)
            ? null
            : CosignSignature.LoadPublicKey(File.ReadAllText(_options.PublicKeyPath)));
    }

    public async Task<SignatureVerdict> VerifyAsync(string digest, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(digest);
        var key = _key.Value;
        if (key is null)
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
            if (payload is null || !CosignSignature.Verifies(key, payload, layer.Signature))
            {
                otherKey++;
                continue;
            }

            if (CosignSignature.SignedDigest(payload) != digest)
            {
                // A valid signature by our key, copied from another image's .sig: it vouches for that image only.
                otherDigest++;
                continue;
            }

            Log.SignatureVerified(_logger, digest, layer.PayloadDigest);
            return SignatureVerdict.Trust($"signed by the key at {SignatureOptions.SectionName}:PublicKeyPath");
        }

        return SignatureVerdict.Refuse(otherDigest > 0
            ? $"its signature by the configured key names another digest ({otherDigest} of {layers.Count} signatures)"
            : $"signed, but not by the key at {SignatureOptions.SectionName}:PublicKeyPath ({otherKey} signature(s) checked)");
    }

    public void Dispose()
    {
        if (_key.IsValueCreated)
        {
            _key.Value?.Dispose();
        }
    }
}
