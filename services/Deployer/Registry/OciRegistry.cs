using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;

namespace StudentPerformance.Deployer.Registry;

/// <summary>
/// Any registry that speaks the OCI distribution API: a HEAD on the tag's manifest gives the digest.
/// Auth is anonymous, basic, or the bearer-token challenge (RFC 6750 + the Docker token protocol).
/// </summary>
internal sealed partial class OciRegistry : IImageRegistry
{
    // Index and list types first: for a multi-arch tag the registry must answer with the index digest,
    // which is what the engine records in RepoDigests after `pull repo@digest`.
    internal static readonly string[] ManifestMediaTypes =
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ];

    // The distribution spec lets registries refuse manifests over 4 MiB; nothing larger is a real manifest.
    private const int MaxManifestBytes = 4 * 1024 * 1024;

    private static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromSeconds(60);

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly Uri _endpoint;
    private readonly string _repository;
    private readonly RegistryCredentials? _basic;
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<OciRegistry> _logger;
    private BearerToken? _bearer;
    private volatile bool _basicChallenged;

    public OciRegistry(
        IHttpClientFactory httpClientFactory,
        IOptions<RegistryOptions> registryOptions,
        IOptions<ImageOptions> imageOptions,
        ResiliencePipelineProvider<string> pipelines,
        TimeProvider timeProvider,
        ILogger<OciRegistry> logger)
    {
        var options = registryOptions.Value;
        var endpoint = options.Endpoint ?? throw new InvalidOperationException("Deployer:Registry:Endpoint is required when Deployer:Registry:Kind is Oci.");
        _endpoint = new Uri(endpoint.EndsWith('/') ? endpoint : endpoint + "/", UriKind.Absolute);
        _httpClientFactory = httpClientFactory;
        _repository = imageOptions.Value.Repository;
        _pipeline = pipelines.GetPipeline(RegistryResilience.PipelineKey);
        _timeProvider = timeProvider;
        _logger = logger;
        ImageName = $"{_endpoint.Authority}/{_repository}";
        _basic = string.IsNullOrEmpty(options.Username)
            ? null
            : new RegistryCredentials(_endpoint.Authority, options.Username, options.Password ?? string.Empty);
    }

    public string ImageName { get; }

    public Task<string?> ResolveDigestAsync(string tag, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        return RegistryCall.ExecuteAsync(_pipeline, $"resolve {_repository}:{tag}", token => ResolveOnceAsync(tag, token), cancellationToken);
    }

    public Task<RegistryCredentials?> GetPullCredentialsAsync(CancellationToken cancellationToken) => Task.FromResult(_basic);

    public void InvalidateCredentials()
    {
        _bearer = null;
        Log.CredentialsInvalidated(_logger);
    }

    public Task<byte[]?> GetManifestAsync(string reference, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        return RegistryCall.ExecuteAsync(_pipeline, $"manifest {_repository}:{reference}", async token =>
        {
            using var response = await SendAsync(HttpMethod.Get, Distribution.ManifestUri(_endpoint, _repository, reference), token).ConfigureAwait(false);
            return await Distribution.ReadAsync(response, $"manifest GET {_repository}:{reference}", Distribution.MaxManifestBytes, token).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<byte[]?> GetBlobAsync(string digest, int maxBytes, CancellationToken cancellationToken)
    {
        if (!DigestPattern().IsMatch(digest))
        {
            throw new RegistryException($"blob '{digest}' is not a sha256 digest", isTransient: false);
        }

        return RegistryCall.ExecuteAsync(_pipeline, $"blob {_repository}@{digest}", async token =>
        {
            using var response = await SendAsync(HttpMethod.Get, Distribution.BlobUri(_endpoint, _repository, digest), token).ConfigureAwait(false);
            var blob = await Distribution.ReadAsync(response, $"blob GET {_repository}@{digest}", maxBytes, token).ConfigureAwait(false);
            return blob is null ? null : Distribution.Checked(blob, digest);
        }, cancellationToken);
    }

    private async ValueTask<string?> ResolveOnceAsync(string tag, CancellationToken cancellationToken)
    {
        var manifestUri = new Uri(_endpoint, $"v2/{_repository}/manifests/{Uri.EscapeDataString(tag)}");
        using (var head = await SendAsync(HttpMethod.Head, manifestUri, cancellationToken).ConfigureAwait(false))
        {
            if (head.StatusCode == HttpStatusCode.NotFound)
            {
                Log.TagNotFound(_logger, _repository, tag);
                return null;
            }

            ThrowUnlessSuccess(head, "manifest HEAD");
            if (head.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { Length: > 0 } digest)
            {
                return CheckedDigest(digest, tag);
            }
        }

        // The header is optional in the OCI spec; the digest is then the sha256 of the exact manifest bytes.
        using var get = await SendAsync(HttpMethod.Get, manifestUri, cancellationToken).ConfigureAwait(false);
        if (get.StatusCode == HttpStatusCode.NotFound)
        {
            Log.TagNotFound(_logger, _repository, tag);
            return null;
        }

        ThrowUnlessSuccess(get, "manifest GET");
        var body = get.Content.Headers.ContentLength is > MaxManifestBytes
            ? null
            : await get.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (body is null || body.Length > MaxManifestBytes)
        {
            throw new RegistryException($"registry answered {_repository}:{tag} with a manifest over {MaxManifestBytes} bytes", isTransient: false);
        }

        Log.DigestComputedFromBody(_logger, _repository, tag);
        return CheckedDigest("sha256:" + Convert.ToHexStringLower(SHA256.HashData(body)), tag);
    }

    private string CheckedDigest(string digest, string tag)
    {
        if (!DigestPattern().IsMatch(digest))
        {
            throw new RegistryException($"registry answered {_repository}:{tag} with a malformed digest", isTransient: false);
        }

        Log.DigestResolved(_logger, _repository, tag, digest);
        return digest;
    }

    /// <summary>
    /// Sends with the credentials the registry asked for before; on a challenge, answers it once. The password goes
    /// to the registry only after it asked for Basic, never to a registry that delegates to a token service.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, CancellationToken cancellationToken)
    {
        var client = _httpClientFactory.CreateClient(RegistryServiceCollectionExtensions.HttpClientName);
        var bearer = _bearer;
        if (bearer is not null && bearer.ExpiresAt <= _timeProvider.GetUtcNow())
        {
            bearer = null;
        }

        var sentBasic = bearer is null && _basicChallenged && _basic is not null;
        var response = await client.SendAsync(NewRequest(method, uri, bearer, sentBasic, _basic), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        var challenges = response.Headers.WwwAuthenticate.ToList();
        response.Dispose();
        var bearerChallenge = challenges.FirstOrDefault(h => h.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase));
        if (bearerChallenge is not null)
        {
            bearer = await FetchTokenAsync(client, ParseChallenge(bearerChallenge.Parameter), cancellationToken).ConfigureAwait(false);
            _bearer = bearer;
            return await client.SendAsync(NewRequest(method, uri, bearer, sendBasic: false, _basic), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }

        if (_basic is null)
        {
            throw new RegistryException("registry requires credentials: set Deployer:Registry:Username and Deployer:Registry:Password", isTransient: false, statusCode: 401);
        }

        if (sentBasic)
        {
            throw new RegistryException("registry refused the configured credentials (HTTP 401)", isTransient: false, statusCode: 401);
        }

        _basicChallenged = true;
        return await client.SendAsync(NewRequest(method, uri, bearer: null, sendBasic: true, _basic), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
    }

    private static HttpRequestMessage NewRequest(HttpMethod method, Uri uri, BearerToken? bearer, bool sendBasic, RegistryCredentials? basic)
    {
        var request = new HttpRequestMessage(method, uri);
        foreach (var mediaType in ManifestMediaTypes)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
        }

        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer.Token);
        }
        else if (sendBasic && basic is not null)
        {
            request.Headers.Authorization = BasicHeader(basic);
        }

        return request;
    }

    private async Task<BearerToken> FetchTokenAsync(HttpClient client, Dictionary<string, string> challenge, CancellationToken cancellationToken)
    {
        if (!challenge.TryGetValue("realm", out var realm)
            || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri)
            || (realmUri.Scheme != Uri.UriSchemeHttp && realmUri.Scheme != Uri.UriSchemeHttps))
        {
            throw new RegistryException("registry sent a bearer challenge without a usable realm URL", isTransient: false, statusCode: 401);
        }

        var scope = challenge.GetValueOrDefault("scope") ?? $"repository:{_repository}:pull";
        var query = new StringBuilder(realmUri.Query.Length > 1 ? realmUri.Query[1..] + "&" : string.Empty);
        if (challenge.TryGetValue("service", out var service))
        {
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        }

        query.Append("scope=").Append(Uri.EscapeDataString(scope));
        var tokenUri = new UriBuilder(realmUri) { Query = query.ToString() }.Uri;

        using var request = new HttpRequestMessage(HttpMethod.Get, tokenUri);
        if (_basic is not null)
        {
            request.Headers.Authorization = BasicHeader(_basic);
        }

        using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        if (status is 401 or 403)
        {
            throw new RegistryException(_basic is null
                ? "the registry's token service requires credentials: set Deployer:Registry:Username and Deployer:Registry:Password"
                : $"the registry's token service refused the configured credentials (HTTP {status})", isTransient: false, statusCode: status);
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new RegistryException($"the registry's token service answered HTTP {status}", RegistryCall.IsTransientStatus(status), status);
        }

        TokenResponse? body;
        try
        {
            body = await response.Content.ReadFromJsonAsync(RegistryJsonContext.Default.TokenResponse, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new RegistryException("the registry's token service answered with malformed JSON", isTransient: false, inner: e);
        }

        var token = body?.Token ?? body?.AccessToken;
        if (string.IsNullOrEmpty(token))
        {
            throw new RegistryException("the registry's token service answered without a token", isTransient: false);
        }

        var lifetime = body!.ExpiresIn is > 0 ? TimeSpan.FromSeconds(body.ExpiresIn.Value) : DefaultTokenLifetime;
        // Give up the token a little early so that it never expires between our check and the registry's.
        var expiresAt = _timeProvider.GetUtcNow() + lifetime - TimeSpan.FromTicks(Math.Min(lifetime.Ticks / 10, TimeSpan.TicksPerSecond * 10));
        Log.BearerTokenIssued(_logger, realmUri.GetLeftPart(UriPartial.Path), scope, expiresAt);
        return new BearerToken(token, expiresAt);
    }

    private static void ThrowUnlessSuccess(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var status = (int)response.StatusCode;
        var message = status switch
        {
            401 => $"{what}: the registry refused the configured credentials (HTTP 401)",
            403 => $"{what}: the registry denied access to the repository (HTTP 403)",
            _ => $"{what}: the registry answered HTTP {status}",
        };
        throw new RegistryException(message, RegistryCall.IsTransientStatus(status), status);
    }

    internal static Dictionary<string, string> ParseChallenge(string? parameters)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (parameters is null)
        {
            return result;
        }

        foreach (Match match in ChallengeParameter().Matches(parameters))
        {
            result[match.Groups["key"].Value] = match.Groups["quoted"].Success ? match.Groups["quoted"].Value : match.Groups["bare"].Value;
        }

        return result;
    }

    private static AuthenticationHeaderValue BasicHeader(RegistryCredentials credentials) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Username}:{credentials.Password}")));

    [GeneratedRegex("^sha256:[a-f0-9]{64}$")]
    internal static partial Regex DigestPattern();

    [GeneratedRegex("(?<key>[A-Za-z_]+)\\s*=\\s*(?:\"(?<quoted>[^\"]*)\"|(?<bare>[^\\s,]+))")]
    private static partial Regex ChallengeParameter();

    private sealed record BearerToken(string Token, DateTimeOffset ExpiresAt);
}
