using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Deployer.Tests.Support;

/// <summary>
/// The token service of the Docker token protocol, on loopback. It checks basic credentials and issues RS256 JWTs
/// whose x5c header carries a self-signed certificate; the real docker-registry is configured to trust only that
/// certificate, so it verifies every token's signature, issuer, audience, expiry and granted scope itself.
/// </summary>
public sealed class LocalRegistryTokenRealm : IAsyncDisposable
{
    public const string Service = "sp-local-registry";
    public const string Issuer = "sp-test-token-issuer";

    private readonly WebApplication _app;
    private readonly RSA _key;
    private readonly X509Certificate2 _certificate;
    private int _tokensIssued;
    private int _refusals;

    private LocalRegistryTokenRealm(WebApplication app, Uri baseAddress, RSA key, X509Certificate2 certificate, string certificatePath)
    {
        _app = app;
        _key = key;
        _certificate = certificate;
        TokenUrl = new Uri(baseAddress, "/token");
        CertificatePath = certificatePath;
    }

    public Uri TokenUrl { get; }

    public string CertificatePath { get; }

    /// <summary>Tokens handed out so far (to the engine's login/push and to the code under test).</summary>
    public int TokensIssued => Volatile.Read(ref _tokensIssued);

    /// <summary>Token requests refused for missing or wrong credentials.</summary>
    public int Refusals => Volatile.Read(ref _refusals);

    /// <summary>How long issued tokens live.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    public static async Task<LocalRegistryTokenRealm> StartAsync(string username, string password, string directory)
    {
        var key = RSA.Create(2048);
        var now = TimeProvider.System.GetUtcNow();
        var request = new CertificateRequest($"CN={Issuer}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        var certificatePath = Path.Combine(directory, "token-root.pem");
        await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem() + "\n");

        LocalRegistryTokenRealm? realm = null;
        var (app, baseAddress) = await LocalRegistryLoopback.StartAsync(app => app.MapGet("/token", (HttpContext context) => realm!.Issue(context, username, password)));
        realm = new LocalRegistryTokenRealm(app, baseAddress, key, certificate, certificatePath);
        return realm;
    }

    private IResult Issue(HttpContext context, string username, string password)
    {
        if (!HasCredentials(context.Request, username, password))
        {
            Interlocked.Increment(ref _refusals);
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"sp-token\"";
            return Results.Json(new JsonObject { ["details"] = "bad credentials" }, statusCode: 401);
        }

        var access = new JsonArray();
        foreach (var scope in context.Request.Query["scope"])
        {
            // repository:<name>:<actions>; names never contain ':' here, actions are comma separated.
            var parts = scope?.Split(':') ?? [];
            if (parts.Length == 3)
            {
                access.Add(new JsonObject
                {
                    ["type"] = parts[0],
                    ["name"] = parts[1],
                    ["actions"] = new JsonArray([.. parts[2].Split(',').Select(a => (JsonNode)a)]),
                });
            }
        }

        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var header = new JsonObject
        {
            ["alg"] = "RS256",
            ["typ"] = "JWT",
            ["x5c"] = new JsonArray(Convert.ToBase64String(_certificate.RawData)),
        };
        var claims = new JsonObject
        {
            ["iss"] = Issuer,
            ["sub"] = username,
            ["aud"] = context.Request.Query["service"].ToString(),
            ["exp"] = now + (long)TokenLifetime.TotalSeconds,
            ["nbf"] = now - 30,
            ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["access"] = access,
        };
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var token = signingInput + "." + Base64Url(signature);
        Interlocked.Increment(ref _tokensIssued);
        return Results.Json(new JsonObject
        {
            ["token"] = token,
            ["access_token"] = token,
            ["expires_in"] = (long)TokenLifetime.TotalSeconds,
        });
    }

    private static bool HasCredentials(HttpRequest request, string username, string password)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..]));
            return decoded == $"{username}:{password}";
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _certificate.Dispose();
        _key.Dispose();
    }
}
