using System.Net;
using System.Security.Cryptography;

namespace StudentPerformance.Deployer.Registry;

/// <summary>The OCI distribution API's reads that both registries share: bounded bodies and checked blob digests.</summary>
internal static class Distribution
{
    /// <summary>The distribution spec lets registries refuse manifests over 4 MiB; nothing larger is a real manifest.</summary>
    public const int MaxManifestBytes = 4 * 1024 * 1024;

    public static Uri ManifestUri(Uri endpoint, string repository, string reference) =>
        new(endpoint, $"v2/{repository}/manifests/{Uri.EscapeDataString(reference)}");

    public static Uri BlobUri(Uri endpoint, string repository, string digest) =>
        new(endpoint, $"v2/{repository}/blobs/{digest}");

    /// <summary>The body, or null for 404 or a body over <paramref name="maxBytes"/>; other failures throw.</summary>
    public static async Task<byte[]?> ReadAsync(HttpResponseMessage response, string what, int maxBytes, CancellationToken cancellationToken)
    {
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = (int)response.StatusCode;
            throw new RegistryException($"{what}: the registry answered HTTP {status}", RegistryCall.IsTransientStatus(status), status);
        }

        if (response.Content.Headers.ContentLength > maxBytes)
        {
            return null;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>A blob whose bytes do not hash to its digest was altered on the way or in storage.</summary>
    public static byte[] Checked(byte[] blob, string digest) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(blob)) == digest
            ? blob
            : throw new RegistryException($"blob {digest}: the bytes the registry sent do not match the digest", isTransient: false);
}
