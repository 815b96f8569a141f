using System.Security.Cryptography;
using System.Text.Json;

namespace StudentPerformance.Deployer.Registry;

/// <summary>
/// The pure parts of cosign's key-based image signature (specs/SIGNATURE_SPEC.md in sigstore/cosign): where it is
/// stored, how the simple-signing payload names the image, and the ECDSA P-256 / SHA-256 check. No I/O.
/// </summary>
public static class CosignSignature
{
    /// <summary>The layer annotation that holds the base64 DER signature.</summary>
    public const string SignatureAnnotation = "dev.cosignproject.cosign/signature";

    /// <summary>The media type of the simple-signing payload layer.</summary>
    public const string PayloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json";

    /// <summary>The <c>critical.type</c> every cosign image signature carries.</summary>
    public const string PayloadType = "cosign container image signature";

    /// <summary>A payload is a few hundred bytes; anything far larger is not a signature worth downloading.</summary>
    public const int MaxPayloadBytes = 64 * 1024;

    /// <summary>The tag cosign stores the signatures of <paramref name="digest"/> under: <c>sha256-&lt;hex&gt;.sig</c>.</summary>
    public static string SignatureTag(string digest)
    {
        ArgumentException.ThrowIfNullOrEmpty(digest);
        return digest.Replace(':', '-') + ".sig";
    }

    /// <summary>The PEM label of a public key (SubjectPublicKeyInfo): what <c>cosign public-key</c> writes.</summary>
    public const string PublicKeyLabel = "PUBLIC KEY";

    /// <summary>
    /// Reads every PEM block of <paramref name="pem"/>: one public key, or several while a signing key is rotated (the
    /// old and the new one concatenated, so that digests signed by either roll out). Each must be a
    /// <c>PUBLIC KEY</c> block holding an EC P-256 key; no block at all is an error too.
    /// </summary>
    public static IReadOnlyList<ECDsa> LoadPublicKeys(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var keys = new List<ECDsa>();
        try
        {
            var rest = pem.AsSpan();
            while (PemEncoding.TryFind(rest, out var fields))
            {
                var label = rest[fields.Label].ToString();
                if (label != PublicKeyLabel)
                {
                    throw new CryptographicException($"PEM block {keys.Count + 1} is a '{label}', not a '{PublicKeyLabel}': only public keys belong here");
                }

                keys.Add(LoadPublicKey(rest[fields.Location].ToString()));
                rest = rest[fields.Location.End..];
            }

            return keys.Count > 0 ? keys : throw new CryptographicException($"no PEM '{PublicKeyLabel}' block in it");
        }
        catch
        {
            keys.ForEach(k => k.Dispose());
            throw;
        }
    }

    /// <summary>A short name for a key in logs and verdicts: the first 16 hex digits of SHA-256 over its SubjectPublicKeyInfo.</summary>
    public static string Fingerprint(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];
    }

    /// <summary>Reads a PEM public key; only EC P-256 (what cosign and AWS KMS ECC_NIST_P256 make) is accepted.</summary>
    public static ECDsa LoadPublicKey(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256 || key.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new CryptographicException($"the key is not an EC P-256 public key (it has {key.KeySize} bits)");
            }

            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>True when <paramref name="base64Signature"/> is <paramref name="key"/>'s ECDSA signature (DER) of SHA-256(<paramref name="payload"/>).</summary>
    public static bool Verifies(ECDsa key, ReadOnlySpan<byte> payload, string base64Signature)
    {
        ArgumentNullException.ThrowIfNull(key);
        var signature = DecodeSignature(base64Signature);
        return signature is not null && key.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    /// <summary>The same check over an already computed SHA-256 (how Rekor's hashedrekord entries carry it).</summary>
    public static bool VerifiesHash(ECDsa key, ReadOnlySpan<byte> sha256, string base64Signature)
    {
        ArgumentNullException.ThrowIfNull(key);
        var signature = DecodeSignature(base64Signature);
        return signature is not null && key.VerifyHash(sha256, signature, DSASignatureFormat.Rfc3279DerSequence);
    }

    /// <summary>
    /// The image digest a simple-signing payload vouches for (<c>critical.image.docker-manifest-digest</c>), or null when
    /// the payload is not JSON, is not a cosign image signature, or names no digest.
    /// </summary>
    public static string? SignedDigest(ReadOnlySpan<byte> payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("critical", out var critical) || critical.ValueKind != JsonValueKind.Object
                || !critical.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != PayloadType
                || !critical.TryGetProperty("image", out var image) || image.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            // The spec's own example spells it "Docker-manifest-digest"; cosign writes the lowercase form.
            foreach (var property in image.EnumerateObject())
            {
                if (property.Name.Equals("docker-manifest-digest", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.String)
                {
                    return property.Value.GetString();
                }
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The signature layers of a signature manifest: (payload digest, size, base64 signature).</summary>
    public static IReadOnlyList<SignatureLayer> SignatureLayers(ReadOnlySpan<byte> manifest)
    {
        var layers = new List<SignatureLayer>();
        try
        {
            using var document = JsonDocument.Parse(manifest.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("layers", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return layers;
            }

            foreach (var layer in list.EnumerateArray())
            {
                if (layer.ValueKind == JsonValueKind.Object
                    && layer.TryGetProperty("digest", out var digest) && digest.ValueKind == JsonValueKind.String
                    && layer.TryGetProperty("annotations", out var annotations) && annotations.ValueKind == JsonValueKind.Object
                    && annotations.TryGetProperty(SignatureAnnotation, out var signature) && signature.ValueKind == JsonValueKind.String)
                {
                    var size = layer.TryGetProperty("size", out var s) && s.TryGetInt64(out var n) ? n : -1;
                    layers.Add(new SignatureLayer(digest.GetString()!, size, signature.GetString()!));
                }
            }
        }
        catch (JsonException)
        {
            // Not a manifest: no signature layers.
        }

        return layers;
    }

    private static byte[]? DecodeSignature(string base64Signature)
    {
        try
        {
            return Convert.FromBase64String(base64Signature.Trim());
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>One layer of a cosign signature manifest: the payload blob and the signature over it.</summary>
public sealed record SignatureLayer(string PayloadDigest, long Size, string Signature);
