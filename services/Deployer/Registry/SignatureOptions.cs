using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Registry;

/// <summary>
/// Section <c>Deployer:Signature</c>: which key must have signed a digest before the deployer pulls it. Signatures are
/// cosign's key-based OCI format (the manifest tagged <c>sha256-&lt;hex&gt;.sig</c>), ECDSA P-256 over SHA-256.
/// </summary>
public sealed class SignatureOptions
{
    public const string SectionName = "Deployer:Signature";

    /// <summary>
    /// The signer's public key, PEM (<c>cosign public-key --key awskms://…</c> or <c>cosign.pub</c>); several keys
    /// concatenated while a signing key is rotated, any one of which may have signed. Empty: no key, signatures are not
    /// checked (allowed only while <see cref="Required"/> is false).
    /// </summary>
    public string PublicKeyPath { get; set; } = "";

    /// <summary>
    /// True: a digest without a valid signature by the key is refused and quarantined before its pull. False: a bad
    /// signature is still refused, but an unsigned digest rolls out with a warning.
    /// </summary>
    public bool Required { get; set; }
}

/// <summary>Checks at start that the key file exists and holds only EC P-256 public keys, and that Required has a key.</summary>
internal sealed class SignatureOptionsValidator : IValidateOptions<SignatureOptions>
{
    public ValidateOptionsResult Validate(string? name, SignatureOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.PublicKeyPath))
        {
            return options.Required
                ? ValidateOptionsResult.Fail($"{SignatureOptions.SectionName}:PublicKeyPath is required when {SignatureOptions.SectionName}:Required is true.")
                : ValidateOptionsResult.Success;
        }

        try
        {
            foreach (var key in CosignSignature.LoadPublicKeys(File.ReadAllText(options.PublicKeyPath)))
            {
                key.Dispose();
            }

            return ValidateOptionsResult.Success;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            return ValidateOptionsResult.Fail($"{SignatureOptions.SectionName}:PublicKeyPath ('{options.PublicKeyPath}'): {ex.Message}");
        }
    }
}
