using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// The webhook's signature: HMAC-SHA256 with <c>Deployer:Webhook:Secret</c> over <c>"&lt;timestamp&gt;.&lt;body&gt;"</c>.
/// The timestamp inside the signed bytes lets a receiver refuse a replay (an old timestamp, or one it has seen).
/// </summary>
public static class WebhookSignature
{
    public const string TimestampHeader = "X-Deployer-Timestamp";
    public const string SignatureHeader = "X-Deployer-Signature";

    /// <summary>The value of <see cref="SignatureHeader"/>: <c>sha256=&lt;lowercase hex&gt;</c>.</summary>
    public static string Sign(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var prefix = Encoding.UTF8.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
    }
}
