using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Predictor.Http;

/// <summary>
/// Settings of the HTTP front door (section <c>FrontDoor</c>). The plain HTTP/1.1 port itself is the standard
/// Kestrel endpoint <c>Kestrel:Endpoints:Http</c>; only what Kestrel cannot express lives here.
/// </summary>
public sealed class FrontDoorOptions
{
    public const string SectionName = "FrontDoor";

    /// <summary>Optional TLS endpoint that serves gRPC and HTTPS on one port with ALPN.</summary>
    [ValidateObjectMembers]
    public FrontDoorTlsOptions Tls { get; set; } = new();
}

/// <summary>
/// The optional TLS endpoint (section <c>FrontDoor:Tls</c>). Nothing listens unless
/// <see cref="CertificatePath"/> is set.
/// </summary>
public sealed class FrontDoorTlsOptions : IValidatableObject
{
    public const string SectionName = "FrontDoor:Tls";

    /// <summary>
    /// A PEM certificate (<c>.pem</c>/<c>.crt</c>, with <see cref="KeyPath"/>) or a PKCS#12 bundle
    /// (<c>.pfx</c>/<c>.p12</c>, with <see cref="Password"/> if it has one). Empty: no TLS endpoint.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of <see cref="CertificatePath"/>; empty when the PEM file holds the key too.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of a PKCS#12 bundle or of an encrypted PEM key. Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>The address to bind: <c>0.0.0.0</c> (all IPv4), <c>::</c> (all), or a literal IP.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "FrontDoor:Tls:Address must name an IP address.")]
    public string Address { get; set; } = "0.0.0.0";

    /// <summary>The TLS port; 0 picks a free port (tests).</summary>
    [Range(0, 65535, ErrorMessage = "FrontDoor:Tls:Port must be between {1} and {2}.")]
    public int Port { get; set; } = 443;

    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IPAddress.TryParse(Address, out _))
        {
            yield return new ValidationResult(
                $"FrontDoor:Tls:Address must be an IP address such as 0.0.0.0 or ::, not '{Address}'.", [nameof(Address)]);
        }

        if (Enabled && !File.Exists(CertificatePath))
        {
            yield return new ValidationResult(
                $"FrontDoor:Tls:CertificatePath: no such file '{CertificatePath}'.", [nameof(CertificatePath)]);
        }
        else if (Enabled && (string.IsNullOrWhiteSpace(KeyPath) || File.Exists(KeyPath)))
        {
            // Loading is the only real check of a certificate, its key and password; it runs once, at start.
            if (TlsEndpoint.TryLoad(this, out var certificate, out var problem))
            {
                certificate.Dispose();
            }
            else
            {
                yield return new ValidationResult(problem, [nameof(CertificatePath)]);
            }
        }

        if (Enabled && !string.IsNullOrWhiteSpace(KeyPath) && !File.Exists(KeyPath))
        {
            yield return new ValidationResult($"FrontDoor:Tls:KeyPath: no such file '{KeyPath}'.", [nameof(KeyPath)]);
        }
    }
}
