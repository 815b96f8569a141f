using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Deployer.Tests.Support;

/// <summary>
/// A self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost, made in the test (no file outside the
/// repository), as the PEM bundle the edge takes: certificate, then its PKCS#8 private key.
/// </summary>
public sealed record TestCertificate(string CommonName, string CertificatePem, string KeyPem, string Fingerprint)
{
    /// <summary>Certificate then key: what <c>Deployer:Edge:Tls:CertificatePath</c> names.</summary>
    public string Pem => CertificatePem + KeyPem;

    public static TestCertificate Create(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = TimeProvider.System.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
        return new TestCertificate(commonName, certificate.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n", certificate.GetCertHashString());
    }

    /// <summary>
    /// Base64 SHA-256 of the public key: Chromium's <c>--ignore-certificate-errors-spki-list</c> then trusts this
    /// certificate alone.
    /// </summary>
    public string SpkiHash
    {
        get
        {
            using var certificate = X509Certificate2.CreateFromPem(CertificatePem);
            return Convert.ToBase64String(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()));
        }
    }

    /// <summary>This certificate with another certificate's key: a bundle whose key does not match.</summary>
    public string PemWithKeyOf(TestCertificate other) => CertificatePem + other.KeyPem;

    /// <summary>Replaces <paramref name="path"/> by rename (as an operator's tool or certbot does), mode 0600.</summary>
    public void WriteTo(string path) => WriteFile(path, Pem);

    public static void WriteFile(string path, string content)
    {
        var temporary = path + ".new";
        File.WriteAllText(temporary, content);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temporary, path, overwrite: true);
    }
}

/// <summary>
/// A client handler that trusts exactly the given test certificates and records the fingerprint every TLS handshake
/// was presented, so a test can tell which certificate a new connection got.
/// </summary>
public sealed class TrustingHandler
{
    private readonly ConcurrentDictionary<string, bool> _trusted = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<string> _presented = new();

    public TrustingHandler(params TestCertificate[] trusted)
    {
        foreach (var certificate in trusted)
        {
            _trusted[certificate.Fingerprint] = true;
        }
    }

    /// <summary>The fingerprint each handshake so far was presented, in order.</summary>
    public IReadOnlyList<string> Presented => [.. _presented];

    /// <summary>A new handler (its own connection pool: its first call makes a new handshake).</summary>
    public SocketsHttpHandler Create() => new()
    {
        EnableMultipleHttp2Connections = true,
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Validate },
    };

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }

        var fingerprint = certificate.GetCertHashString();
        _presented.Enqueue(fingerprint);
        // Self-signed, so the chain is untrusted by design; the pin is the trust. The name must still match.
        return (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && _trusted.ContainsKey(fingerprint);
    }
}
