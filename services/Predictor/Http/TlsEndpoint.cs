using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Predictor.Http;

/// <summary>
/// The optional TLS endpoint: one port that speaks gRPC and HTTPS, told apart by ALPN (h2 or http/1.1). Added
/// only when <c>FrontDoor:Tls:CertificatePath</c> is set; without a certificate nothing listens there.
/// </summary>
internal static class TlsEndpoint
{
    public static void AddTo(KestrelServerOptions kestrel, FrontDoorTlsOptions tls, ILogger logger)
    {
        if (!tls.Enabled)
        {
            Log.TlsDisabled(logger);
            return;
        }

        // Kestrel keeps the certificate for the life of the process.
        var certificate = Load(tls);
        kestrel.Listen(IPAddress.Parse(tls.Address), tls.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        });
        Log.TlsEnabled(logger, tls.Address, tls.Port, certificate.Subject, certificate.NotAfter);
    }

    /// <summary>Reads a PKCS#12 bundle (.pfx/.p12) or a PEM certificate and key; a failure names the key and file.</summary>
    /// <exception cref="OptionsValidationException">The file is not a usable certificate with its private key.</exception>
    internal static X509Certificate2 Load(FrontDoorTlsOptions tls)
    {
        var path = tls.CertificatePath!;
        X509Certificate2 certificate;
        try
        {
            var extension = Path.GetExtension(path);
            if (extension.Equals(".pfx", StringComparison.OrdinalIgnoreCase) || extension.Equals(".p12", StringComparison.OrdinalIgnoreCase))
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(path, tls.Password);
            }
            else
            {
                var keyPath = string.IsNullOrWhiteSpace(tls.KeyPath) ? null : tls.KeyPath;
                certificate = string.IsNullOrEmpty(tls.Password)
                    ? X509Certificate2.CreateFromPemFile(path, keyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(path, tls.Password, keyPath);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw Invalid(tls, e.Message);
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw Invalid(tls, "the file holds no private key");
        }

        return certificate;
    }

    // An options failure, so the host reports it like any other bad setting: one line naming the key.
    private static OptionsValidationException Invalid(FrontDoorTlsOptions tls, string reason)
    {
        var message = $"FrontDoor:Tls:CertificatePath: cannot load the TLS certificate '{tls.CertificatePath}'"
            + (tls.KeyPath is { Length: > 0 } ? $" with key '{tls.KeyPath}'" : "")
            + $": {reason}";
        return new OptionsValidationException(FrontDoorOptions.SectionName, typeof(FrontDoorOptions), [message]);
    }
}
