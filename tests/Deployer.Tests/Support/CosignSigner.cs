using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StudentPerformance.Deployer.Registry;

namespace Deployer.Tests.Support;

/// <summary>
/// Makes signatures in cosign's key-based OCI format (sigstore/cosign specs/SIGNATURE_SPEC.md) with an ECDSA P-256
/// key: the simple-signing payload, its base64 DER signature, and the manifest tagged <c>sha256-&lt;hex&gt;.sig</c>
/// whose layer carries both. <see cref="PushAsync"/> uploads them to a real registry over the distribution API.
/// </summary>
public sealed class CosignSigner : IDisposable
{
    private const string ConfigMediaType = "application/vnd.oci.image.config.v1+json";
    private const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";

    public CosignSigner() => Key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public ECDsa Key { get; }

    /// <summary>The public key as PEM, what <c>Deployer:Signature:PublicKeyPath</c> points at.</summary>
    public string PublicKeyPem => Key.ExportSubjectPublicKeyInfoPem();

    /// <summary>Writes the public key to a file under <paramref name="directory"/> and returns its path.</summary>
    public string WritePublicKey(string directory)
    {
        var path = Path.Combine(directory, $"cosign-{LocalRegistry.RandomSuffix()}.pub");
        File.WriteAllText(path, PublicKeyPem);
        return path;
    }

    /// <summary>The payload cosign writes for <paramref name="image"/>@<paramref name="digest"/>.</summary>
    public static byte[] Payload(string image, string digest) => Encoding.UTF8.GetBytes(
        $$"""{"critical":{"identity":{"docker-reference":"{{image}}"},"image":{"docker-manifest-digest":"{{digest}}"},"type":"{{CosignSignature.PayloadType}}"},"optional":null}""");

    public string Sign(byte[] payload) =>
        Convert.ToBase64String(Key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));

    /// <summary>The signature manifest over one payload blob and a config blob.</summary>
    public static byte[] Manifest(byte[] config, byte[] payload, string signature) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = ManifestMediaType,
        ["config"] = new Dictionary<string, object> { ["mediaType"] = ConfigMediaType, ["size"] = config.Length, ["digest"] = Digest(config) },
        ["layers"] = new[]
        {
            new Dictionary<string, object>
            {
                ["mediaType"] = CosignSignature.PayloadMediaType,
                ["size"] = payload.Length,
                ["digest"] = Digest(payload),
                ["annotations"] = new Dictionary<string, string> { [CosignSignature.SignatureAnnotation] = signature },
            },
        },
    });

    public static byte[] Config => Encoding.UTF8.GetBytes("""{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":[]},"config":{}}""");

    public static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>
    /// Signs <paramref name="digest"/> of <paramref name="repository"/> on <paramref name="registry"/> and pushes the
    /// signature manifest as cosign does. <paramref name="signedDigest"/> lets a test sign one digest's payload and
    /// store it under another's tag (a copied signature).
    /// </summary>
    public async Task PushAsync(LocalRegistry registry, string repository, string digest, string? signedDigest = null)
    {
        var payload = Payload($"{registry.HostPort}/{repository}", signedDigest ?? digest);
        var manifest = Manifest(Config, payload, Sign(payload));
        using var http = new HttpClient { BaseAddress = registry.Endpoint };
        if (registry.Auth == LocalRegistryAuth.Htpasswd)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{registry.Username}:{registry.Password}")));
        }

        await PushBlobAsync(http, repository, Config);
        await PushBlobAsync(http, repository, payload);
        using var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(ManifestMediaType);
        using var put = await http.PutAsync(new Uri($"/v2/{repository}/manifests/{CosignSignature.SignatureTag(digest)}", UriKind.Relative), content);
        Assert.True(put.StatusCode == HttpStatusCode.Created, $"manifest PUT answered {(int)put.StatusCode}: {await put.Content.ReadAsStringAsync()}");
    }

    private static async Task PushBlobAsync(HttpClient http, string repository, byte[] blob)
    {
        using var start = await http.PostAsync(new Uri($"/v2/{repository}/blobs/uploads/", UriKind.Relative), null);
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, $"blob upload start answered {(int)start.StatusCode}");
        var location = start.Headers.Location!;
        var separator = location.ToString().Contains('?', StringComparison.Ordinal) ? "&" : "?";
        using var content = new ByteArrayContent(blob);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var put = await http.PutAsync(new Uri($"{location}{separator}digest={Uri.EscapeDataString(Digest(blob))}", UriKind.RelativeOrAbsolute), content);
        Assert.True(put.StatusCode == HttpStatusCode.Created, $"blob PUT answered {(int)put.StatusCode}: {await put.Content.ReadAsStringAsync()}");
    }

    public void Dispose() => Key.Dispose();
}
