using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace StudentPerformance.Predictor.Http;

/// <summary>
/// The optional TLS endpoint: one port that speaks gRPC and HTTPS, told apart by ALPN (h2 or http/1.1). Added
/// only when <c>FrontDoor:Tls:CertificatePath</c> is set; without a certificate nothing listens there.
/// </summary>
internal static class TlsEndpoint
{
    /// <summary>
    /// Adds the endpoint to Kestrel. Kestrel is configured while the app is built, before the host's error
    /// handling runs, so this never throws: a bad setting leaves the endpoint out and options validation, which
    /// runs first when the host starts, stops the process with one line naming the key.
    /// </summary>
    public static void AddTo(KestrelServerOptions kestrel, IConfiguration configuration, ILogger logger)
    {
        FrontDoorTlsOptions? tls;
        try
        {
            tls = configuration.GetSection(FrontDoorTlsOptions.SectionName).Get<FrontDoorTlsOptions>();
        }
        catch (InvalidOperationException)
        {
            return;
        }

        if (tls is null || !tls.Enabled)
        {
            Log.TlsDisabled(logger);
            return;
        }

        if (!IPAddress.TryParse(tls.Address, out var address) || !TryLoad(tls, out var certificate, out _))
        {
            return;
        }

        // Kestrel keeps the certificate for the life of the process.
        kestrel.Listen(address, tls.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        });
        Log.TlsEnabled(logger, tls.Address, tls.Port, certificate.Subject, certificate.NotAfter);
    }

    /// <summary>
    /// Reads a PKCS#12 bundle (.pfx/.p12) or a PEM certificate and key. On failure <paramref name="problem"/>
    /// says why, naming the setting and the file.
    /// </summary>
    internal static bool TryLoad(
        FrontDoorTlsOptions tls,
        [NotNullWhen(true)] out X509Certificate2? certificate,
        [NotNullWhen(false)] out string? problem)
    {
        var path = tls.CertificatePath!;
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
            certificate = null;
            problem = Describe(tls, e.Message);
            return false;
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            certificate = null;
            problem = Describe(tls, "the file holds no private key");
            return false;
        }

        problem = null;
        return true;
    }

    private static string Describe(FrontDoorTlsOptions tls, string reason) =>
        $"FrontDoor:Tls:CertificatePath: cannot load the TLS certificate '{tls.CertificatePath}'"
        + (tls.KeyPath is { Length: > 0 } ? $" with key '{tls.KeyPath}'" : "")
        + $": {reason}";
}
