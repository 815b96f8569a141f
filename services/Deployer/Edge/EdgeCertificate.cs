using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Edge;

/// <summary>
/// A PEM bundle the edge can serve, checked the way HAProxy would load it: at least one certificate, exactly one
/// unencrypted private key, and the key belongs to the first certificate (the leaf).
/// </summary>
/// <param name="Fingerprint">The leaf's SHA-1 fingerprint in upper-case hex, as HAProxy's <c>show ssl cert</c> prints it.</param>
/// <param name="Subject">The leaf's subject, for messages.</param>
/// <param name="NotAfter">When the leaf expires.</param>
public sealed record EdgeCertificate(string Fingerprint, string Subject, DateTimeOffset NotAfter)
{
    private static readonly string[] KeyLabels = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];

    /// <summary>Reads and checks the file <paramref name="path"/>; throws <see cref="EdgeCertificateException"/> saying what is wrong.</summary>
    public static EdgeCertificate Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new EdgeCertificateException($"'{path}' does not exist", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new EdgeCertificateException($"'{path}' cannot be read ({ex.Message})", ex);
        }

        return Parse(text, path);
    }

    /// <summary>Checks <paramref name="pem"/>; <paramref name="source"/> names it in messages.</summary>
    public static EdgeCertificate Parse(string pem, string source)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var certificates = 0;
        var keys = 0;
        var encrypted = false;
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label].ToString();
            if (label == "CERTIFICATE")
            {
                certificates++;
            }
            else if (KeyLabels.Contains(label, StringComparer.Ordinal))
            {
                keys++;
            }
            else if (label == "ENCRYPTED PRIVATE KEY")
            {
                encrypted = true;
            }

            rest = rest[fields.Location.End..];
        }

        if (certificates == 0)
        {
            throw new EdgeCertificateException($"'{source}' holds no PEM certificate");
        }

        if (encrypted)
        {
            throw new EdgeCertificateException($"'{source}' holds an encrypted private key: the edge cannot ask for its passphrase");
        }

        if (keys == 0)
        {
            throw new EdgeCertificateException($"'{source}' holds no private key: append the certificate's key (PEM) to the file");
        }

        if (keys > 1)
        {
            throw new EdgeCertificateException($"'{source}' holds {keys} private keys: keep only the certificate's own");
        }

        try
        {
            // The first certificate is the leaf; CreateFromPem refuses a key that does not belong to it.
            using var leaf = X509Certificate2.CreateFromPem(pem, pem);
            return new EdgeCertificate(leaf.GetCertHashString(), leaf.Subject, new DateTimeOffset(leaf.NotAfter.ToUniversalTime(), TimeSpan.Zero));
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new EdgeCertificateException($"'{source}' cannot be loaded: its first certificate and its private key do not match, or one of them is malformed ({ex.Message})", ex);
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Subject} (SHA-1 {Fingerprint}, expires {NotAfter:u})");
}

/// <summary>A certificate file the edge must not serve: missing, unreadable, unparseable, or with the wrong key.</summary>
public sealed class EdgeCertificateException : Exception
{
    public EdgeCertificateException()
    {
    }

    public EdgeCertificateException(string message) : base(message)
    {
    }

    public EdgeCertificateException(string message, Exception inner) : base(message, inner)
    {
    }
}

/// <summary>
/// At start: a configured <c>Deployer:Edge:Tls:CertificatePath</c> exists, is readable, and holds a certificate with
/// its own unencrypted key. (Later replacements are checked by <see cref="EdgeTls"/>, which keeps the old one.)
/// </summary>
internal sealed class EdgeTlsOptionsValidator : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Tls.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            EdgeCertificate.Load(options.Tls.CertificatePath);
            return ValidateOptionsResult.Success;
        }
        catch (EdgeCertificateException ex)
        {
            return ValidateOptionsResult.Fail($"{EdgeTlsOptions.SectionName}:CertificatePath: {ex.Message}.");
        }
    }
}
