using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Deployer.Tests.Support;

/// <summary>
/// A loopback stand-in for the ECR control plane (the one AWS part that cannot run here). Like AWS it refuses any
/// request whose SigV4 signature it cannot reproduce from the known test secret, or whose date is more than five
/// minutes off its clock. It answers DescribeImages from the real <see cref="LocalRegistry"/> (a HEAD on the tag)
/// and GetAuthorizationToken with the registry's real htpasswd credentials for user <c>AWS</c>, so the issued
/// tokens work for <c>docker pull</c>. Token lifetime and clock are settable so tests can force a refresh.
/// </summary>
public sealed partial class EcrStandIn : IAsyncDisposable
{
    /// <summary>Static test identity: not an AWS key, and accepted only by this stand-in.</summary>
    public const string AccessKeyId = "AKIASTANDINTEST00001";
    public const string SecretAccessKey = "standin+test/secret/NOT-A-REAL-KEY-0000000";
    public const string Region = "eu-west-1";
    public const string AccountId = "123456789012";
    private const string Service = "ecr";
    private const string TargetPrefix = "AmazonEC2ContainerRegistry_V20150921.";

    private static readonly TimeSpan AllowedSkew = TimeSpan.FromMinutes(5);

    private readonly WebApplication _app;
    private readonly LocalRegistry _registry;
    private readonly TimeProvider _clock;
    private readonly HttpClient _registryClient = new();
    private readonly ConcurrentQueue<string> _rejections = new();
    private readonly ConcurrentQueue<(string ErrorType, int Status)> _injectedFailures = new();
    private int _describeImagesCalls;
    private int _authorizationTokenCalls;

    private EcrStandIn(WebApplication app, Uri endpoint, LocalRegistry registry, TimeProvider clock)
    {
        _app = app;
        _registry = registry;
        _clock = clock;
        Endpoint = endpoint;
    }

    /// <summary>The API endpoint to configure as <c>Deployer:Registry:Endpoint</c>.</summary>
    public Uri Endpoint { get; }

    /// <summary>Lifetime of tokens from GetAuthorizationToken (ECR: 12 hours).</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(12);

    public int DescribeImagesCalls => Volatile.Read(ref _describeImagesCalls);

    public int AuthorizationTokenCalls => Volatile.Read(ref _authorizationTokenCalls);

    /// <summary>Why requests were refused (signature, date, key), in order.</summary>
    public IReadOnlyCollection<string> Rejections => [.. _rejections];

    /// <summary>Credentials the stand-in accepts.</summary>
    public static AWSCredentials Credentials => new BasicAWSCredentials(AccessKeyId, SecretAccessKey);

    /// <summary>
    /// Starts the stand-in over <paramref name="registry"/>, which must use htpasswd auth with user <c>AWS</c>.
    /// <paramref name="clock"/> is the stand-in's idea of now (for signature dates and token expiry).
    /// </summary>
    public static async Task<EcrStandIn> StartAsync(LocalRegistry registry, TimeProvider? clock = null)
    {
        if (registry.Auth != LocalRegistryAuth.Htpasswd || registry.Username != "AWS")
        {
            throw new ArgumentException("ECR tokens are basic credentials for user AWS: start the registry with htpasswd and user AWS.", nameof(registry));
        }

        EcrStandIn? standIn = null;
        var (app, endpoint) = await LocalRegistryLoopback.StartAsync(app => app.MapPost("/", (HttpContext context) => standIn!.HandleAsync(context)));
        standIn = new EcrStandIn(app, endpoint, registry, clock ?? TimeProvider.System);
        return standIn;
    }

    /// <summary>The next <paramref name="count"/> valid calls fail with this AWS error, as throttling or an outage would.</summary>
    public void FailNext(int count, string errorType = "ThrottlingException", int status = 400)
    {
        for (var i = 0; i < count; i++)
        {
            _injectedFailures.Enqueue((errorType, status));
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();

        if (Verify(context.Request, body) is { } refusal)
        {
            _rejections.Enqueue(refusal.Message);
            await ErrorAsync(context, 403, refusal.Type, refusal.Message);
            return;
        }

        if (_injectedFailures.TryDequeue(out var failure))
        {
            await ErrorAsync(context, failure.Status, failure.ErrorType, "injected by the test");
            return;
        }

        var target = context.Request.Headers["X-Amz-Target"].ToString();
        switch (target)
        {
            case TargetPrefix + "DescribeImages":
                Interlocked.Increment(ref _describeImagesCalls);
                await DescribeImagesAsync(context, JsonNode.Parse(body)!);
                break;
            case TargetPrefix + "GetAuthorizationToken":
                Interlocked.Increment(ref _authorizationTokenCalls);
                await GetAuthorizationTokenAsync(context);
                break;
            default:
                await ErrorAsync(context, 400, "UnknownOperationException", $"unknown target '{target}'");
                break;
        }
    }

    /// <summary>Recomputes the SigV4 signature the way AWS does; returns why the request is refused, or null.</summary>
    private (string Type, string Message)? Verify(HttpRequest request, byte[] body)
    {
        var authorization = request.Headers.Authorization.ToString();
        var match = AuthorizationPattern().Match(authorization);
        if (!match.Success)
        {
            return ("MissingAuthenticationTokenException", "Missing or malformed SigV4 Authorization header");
        }

        if (match.Groups["key"].Value != AccessKeyId)
        {
            return ("UnrecognizedClientException", "The security token included in the request is invalid.");
        }

        var amzDate = request.Headers["X-Amz-Date"].ToString();
        if (!DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt))
        {
            return ("IncompleteSignatureException", "X-Amz-Date is missing or malformed");
        }

        var now = _clock.GetUtcNow();
        if ((now - signedAt).Duration() > AllowedSkew)
        {
            return ("InvalidSignatureException", $"Signature expired: {amzDate} is outside {AllowedSkew} of {now:yyyyMMdd'T'HHmmss'Z'}");
        }

        var scopeDate = match.Groups["date"].Value;
        if (scopeDate != amzDate[..8] || match.Groups["region"].Value != Region || match.Groups["service"].Value != Service)
        {
            return ("InvalidSignatureException", "Credential scope does not match the date, region or service");
        }

        var signedHeaders = match.Groups["headers"].Value.Split(';');
        if (!signedHeaders.Contains("host") || !signedHeaders.Contains("x-amz-date"))
        {
            return ("InvalidSignatureException", "host and x-amz-date must be signed");
        }

        var payloadHash = Convert.ToHexStringLower(SHA256.HashData(body));
        var declaredHash = request.Headers["X-Amz-Content-Sha256"].ToString();
        if (declaredHash.Length > 0 && declaredHash != payloadHash)
        {
            return ("InvalidSignatureException", "X-Amz-Content-Sha256 does not match the body");
        }

        var canonical = new StringBuilder()
            .Append(request.Method).Append('\n')
            .Append(string.IsNullOrEmpty(request.Path.Value) ? "/" : request.Path.Value).Append('\n')
            .Append(CanonicalQuery(request)).Append('\n');
        foreach (var name in signedHeaders)
        {
            var value = name == "host" ? request.Host.Value : string.Join(',', request.Headers[name].Select(v => v ?? string.Empty));
            canonical.Append(name).Append(':').Append(Whitespace().Replace(value?.Trim() ?? string.Empty, " ")).Append('\n');
        }

        canonical.Append('\n').Append(match.Groups["headers"].Value).Append('\n').Append(payloadHash);

        var scope = $"{scopeDate}/{Region}/{Service}/aws4_request";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
        var key = Encoding.UTF8.GetBytes("AWS4" + SecretAccessKey);
        foreach (var part in new[] { scopeDate, Region, Service, "aws4_request" })
        {
            key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        }

        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(match.Groups["signature"].Value))
            ? null
            : ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided.");
    }

    private static string CanonicalQuery(HttpRequest request) => string.Join('&', request.Query
        .SelectMany(pair => pair.Value.Select(value => (Key: Uri.EscapeDataString(pair.Key), Value: Uri.EscapeDataString(value ?? string.Empty))))
        .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
        .Select(p => $"{p.Key}={p.Value}"));

    private async Task DescribeImagesAsync(HttpContext context, JsonNode request)
    {
        var repository = request["repositoryName"]?.GetValue<string>();
        var tag = request["imageIds"]?[0]?["imageTag"]?.GetValue<string>();
        if (string.IsNullOrEmpty(repository) || string.IsNullOrEmpty(tag))
        {
            await ErrorAsync(context, 400, "InvalidParameterException", "repositoryName and imageIds[0].imageTag are required");
            return;
        }

        using var head = new HttpRequestMessage(HttpMethod.Head, new Uri(_registry.Endpoint, $"/v2/{repository}/manifests/{tag}"));
        head.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_registry.Username}:{_registry.Password}")));
        foreach (var type in new[] { "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json" })
        {
            head.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        using var response = await _registryClient.SendAsync(head, context.RequestAborted);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            await ErrorAsync(context, 400, "ImageNotFoundException", $"The image with imageId {{imageTag:'{tag}'}} does not exist within the repository with name '{repository}'");
            return;
        }

        response.EnsureSuccessStatusCode();
        var digest = response.Headers.GetValues("Docker-Content-Digest").First();
        await JsonAsync(context, new JsonObject
        {
            ["imageDetails"] = new JsonArray(new JsonObject
            {
                ["registryId"] = AccountId,
                ["repositoryName"] = repository,
                ["imageDigest"] = digest,
                ["imageTags"] = new JsonArray(tag),
                ["imagePushedAt"] = _clock.GetUtcNow().ToUnixTimeSeconds(),
            }),
        });
    }

    private Task GetAuthorizationTokenAsync(HttpContext context) => JsonAsync(context, new JsonObject
    {
        ["authorizationData"] = new JsonArray(new JsonObject
        {
            ["authorizationToken"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"AWS:{_registry.Password}")),
            ["expiresAt"] = (_clock.GetUtcNow() + TokenLifetime).ToUnixTimeMilliseconds() / 1000.0,
            ["proxyEndpoint"] = _registry.Endpoint.ToString().TrimEnd('/'),
        }),
    });

    private static Task JsonAsync(HttpContext context, JsonObject body)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/x-amz-json-1.1";
        return context.Response.WriteAsync(body.ToJsonString());
    }

    private static Task ErrorAsync(HttpContext context, int status, string type, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/x-amz-json-1.1";
        context.Response.Headers["x-amzn-ErrorType"] = type;
        return context.Response.WriteAsync(new JsonObject { ["__type"] = type, ["message"] = message }.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _registryClient.Dispose();
    }

    [GeneratedRegex("^AWS4-HMAC-SHA256 Credential=(?<key>[^/]+)/(?<date>[0-9]{8})/(?<region>[^/]+)/(?<service>[^/]+)/aws4_request, ?SignedHeaders=(?<headers>[a-z0-9;-]+), ?Signature=(?<signature>[a-f0-9]{64})$")]
    private static partial Regex AuthorizationPattern();

    [GeneratedRegex("\\s+")]
    private static partial Regex Whitespace();
}
