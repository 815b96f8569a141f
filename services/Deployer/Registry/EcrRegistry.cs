using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.Runtime.Signing;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;

namespace StudentPerformance.Deployer.Registry;

/// <summary>
/// Where ECR calls get their AWS identity. The default walks AWSSDK.Core's chain (environment, profile,
/// container and instance roles) once, lazily; register an instance with fixed credentials to override it.
/// </summary>
public class AwsIdentity
{
    private readonly AWSCredentials? _fixed;
    private readonly Lazy<DefaultAWSCredentialsIdentityResolver> _chain = new(() => new DefaultAWSCredentialsIdentityResolver());

    /// <summary>Uses AWSSDK.Core's default credential chain.</summary>
    public AwsIdentity() { }

    /// <summary>Uses the given credentials (tests, or a host that resolves them itself).</summary>
    public AwsIdentity(AWSCredentials credentials) => _fixed = credentials;

    /// <summary>The credentials to sign with; refreshing credentials refresh themselves inside the signer.</summary>
    public virtual async Task<AWSCredentials> GetCredentialsAsync(CancellationToken cancellationToken)
    {
        if (_fixed is not null)
        {
            return _fixed;
        }

        try
        {
            return await _chain.Value.ResolveIdentityAsync(null, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonClientException e)
        {
            throw new RegistryException("no AWS credentials found (instance role, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)", isTransient: false, inner: e);
        }
    }
}

/// <summary>
/// Amazon ECR through its JSON 1.1 API, signed with SigV4 by AWSSDK.Core (AWSSDK.ECR is not available):
/// DescribeImages gives the tag's digest, GetAuthorizationToken the engine's pull credentials.
/// </summary>
internal sealed class EcrRegistry : IImageRegistry, IDisposable
{
    internal const string ServiceName = "ecr";
    internal const string TargetPrefix = "AmazonEC2ContainerRegistry_V20150921.";
    internal const string JsonContentType = "application/x-amz-json-1.1";

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly RegistryOptions _options;
    private readonly string _repository;
    private readonly AwsIdentity _identity;
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<EcrRegistry> _logger;
    private readonly SemaphoreSlim _tokenLock = new(1, 1);
    private readonly Lazy<(RegionEndpoint Region, Uri Endpoint)> _target;
    private CachedToken? _token;
    private string? _imageName;

    public EcrRegistry(
        IHttpClientFactory httpClientFactory,
        IOptions<RegistryOptions> registryOptions,
        IOptions<ImageOptions> imageOptions,
        AwsIdentity identity,
        ResiliencePipelineProvider<string> pipelines,
        TimeProvider timeProvider,
        ILogger<EcrRegistry> logger)
    {
        _httpClientFactory = httpClientFactory;
        _options = registryOptions.Value;
        _repository = imageOptions.Value.Repository;
        _identity = identity;
        _pipeline = pipelines.GetPipeline(RegistryResilience.PipelineKey);
        _timeProvider = timeProvider;
        _logger = logger;
        // PublicationOnly: a failed lookup (no region yet, instance metadata not up at boot) is retried on the next call.
        _target = new Lazy<(RegionEndpoint, Uri)>(ResolveTarget, LazyThreadSafetyMode.PublicationOnly);
    }

    /// <summary>
    /// The proxy endpoint's host plus the repository, as GetAuthorizationToken reports it (ResolveDigestAsync fetches
    /// it on first use). Before that it is derived from RegistryId and Region when both are known, else it is the
    /// bare repository name. Never throws: the worker reads it at start, before the registry has answered.
    /// </summary>
    public string ImageName => _imageName ?? DerivedImageName();

    public async Task<string?> ResolveDigestAsync(string tag, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        var request = new EcrDescribeImagesRequest(_repository, [new EcrImageId(tag)], NullIfEmpty(_options.RegistryId));
        var response = await RegistryCall.ExecuteAsync(
            _pipeline,
            $"DescribeImages {_repository}:{tag}",
            token => CallAsync("DescribeImages", request, RegistryJsonContext.Default.EcrDescribeImagesRequest, RegistryJsonContext.Default.EcrDescribeImagesResponse, token),
            cancellationToken).ConfigureAwait(false);

        if (response is null)
        {
            Log.TagNotFound(_logger, _repository, tag);
            return null;
        }

        var digest = response.ImageDetails is [var detail, ..] ? detail.ImageDigest : null;
        if (digest is null || !OciRegistry.DigestPattern().IsMatch(digest))
        {
            throw new RegistryException($"DescribeImages {_repository}:{tag}: ECR answered without a valid image digest", isTransient: false);
        }

        // The pull needs the proxy endpoint's host, which only GetAuthorizationToken tells; one call per token lifetime.
        if (_imageName is null)
        {
            await GetPullCredentialsAsync(cancellationToken).ConfigureAwait(false);
        }

        Log.DigestResolved(_logger, _repository, tag, digest);
        return digest;
    }

    public async Task<RegistryCredentials?> GetPullCredentialsAsync(CancellationToken cancellationToken)
    {
        if (_token is { } cached && cached.RefreshAt > _timeProvider.GetUtcNow())
        {
            return cached.Credentials;
        }

        await _tokenLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_token is { } fresh && fresh.RefreshAt > _timeProvider.GetUtcNow())
            {
                return fresh.Credentials;
            }

            var request = new EcrGetAuthorizationTokenRequest(string.IsNullOrEmpty(_options.RegistryId) ? null : [_options.RegistryId]);
            var response = await RegistryCall.ExecuteAsync(
                _pipeline,
                "GetAuthorizationToken",
                token => CallAsync("GetAuthorizationToken", request, RegistryJsonContext.Default.EcrGetAuthorizationTokenRequest, RegistryJsonContext.Default.EcrGetAuthorizationTokenResponse, token),
                cancellationToken).ConfigureAwait(false);
            _token = ParseToken(response);
            _imageName = $"{_token.Credentials.ServerAddress}/{_repository}";
            Log.EcrTokenFetched(_logger, _token.Credentials.ServerAddress, _token.ExpiresAt);
            return _token.Credentials;
        }
        finally
        {
            _tokenLock.Release();
        }
    }

    public Task<byte[]?> GetManifestAsync(string reference, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        return DistributionGetAsync($"manifest {_repository}:{reference}", endpoint => Distribution.ManifestUri(endpoint, _repository, reference), Distribution.MaxManifestBytes, cancellationToken);
    }

    public async Task<byte[]?> GetBlobAsync(string digest, int maxBytes, CancellationToken cancellationToken)
    {
        if (!OciRegistry.DigestPattern().IsMatch(digest))
        {
            throw new RegistryException($"blob '{digest}' is not a sha256 digest", isTransient: false);
        }

        var blob = await DistributionGetAsync($"blob {_repository}@{digest}", endpoint => Distribution.BlobUri(endpoint, _repository, digest), maxBytes, cancellationToken).ConfigureAwait(false);
        return blob is null ? null : Distribution.Checked(blob, digest);
    }

    /// <summary>
    /// A read through ECR's OCI distribution API (the proxy endpoint <c>docker pull</c> uses) with the pull token as
    /// basic credentials: that is where cosign stores signatures, and no control-plane call returns blobs.
    /// </summary>
    private async Task<byte[]?> DistributionGetAsync(string operation, Func<Uri, Uri> address, int maxBytes, CancellationToken cancellationToken)
    {
        await GetPullCredentialsAsync(cancellationToken).ConfigureAwait(false);
        var token = _token ?? throw new RegistryException($"{operation}: no ECR pull token", isTransient: true);
        return await RegistryCall.ExecuteAsync(_pipeline, operation, async ct =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, address(token.ProxyEndpoint));
            request.Headers.Authorization = new AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{token.Credentials.Username}:{token.Credentials.Password}")));
            foreach (var mediaType in OciRegistry.ManifestMediaTypes)
            {
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
            }

            var client = _httpClientFactory.CreateClient(RegistryServiceCollectionExtensions.HttpClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            if (response.StatusCode is System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden)
            {
                InvalidateCredentials();
                throw new RegistryException($"{operation}: ECR refused the pull token (HTTP {(int)response.StatusCode}); a new one is fetched next time", isTransient: true, statusCode: (int)response.StatusCode);
            }

            return await Distribution.ReadAsync(response, operation, maxBytes, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public void InvalidateCredentials()
    {
        _token = null;
        Log.CredentialsInvalidated(_logger);
    }

    public void Dispose() => _tokenLock.Dispose();

    private CachedToken ParseToken(EcrGetAuthorizationTokenResponse? response)
    {
        var data = response?.AuthorizationData is [var first, ..] ? first : null;
        if (data?.AuthorizationToken is null || data.ProxyEndpoint is null || data.ExpiresAt is null
            || !Uri.TryCreate(data.ProxyEndpoint, UriKind.Absolute, out var proxy))
        {
            throw new RegistryException("GetAuthorizationToken: ECR answered without a token, expiry or proxy endpoint", isTransient: false);
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(data.AuthorizationToken));
        }
        catch (FormatException e)
        {
            throw new RegistryException("GetAuthorizationToken: the token is not base64", isTransient: false, inner: e);
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new RegistryException("GetAuthorizationToken: the token is not 'user:password'", isTransient: false);
        }

        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(data.ExpiresAt.Value * 1000));
        var credentials = new RegistryCredentials(proxy.Authority, decoded[..colon], decoded[(colon + 1)..]);
        var proxyEndpoint = new Uri(proxy.GetLeftPart(UriPartial.Authority) + "/");
        return new CachedToken(credentials, expiresAt, expiresAt - _options.TokenRefreshMargin, proxyEndpoint);
    }

    /// <summary>One signed JSON 1.1 call. Returns null for ImageNotFoundException; throws RegistryException otherwise.</summary>
    private async ValueTask<TResponse?> CallAsync<TRequest, TResponse>(
        string action,
        TRequest body,
        JsonTypeInfo<TRequest> requestType,
        JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
        where TResponse : class
    {
        var (region, endpoint) = _target.Value;
        var payload = JsonSerializer.SerializeToUtf8Bytes(body, requestType);
        var signingRequest = new AWSSigningRequest { HttpMethod = HttpMethod.Post, RequestUri = endpoint, Content = payload };
        signingRequest.Headers["Content-Type"] = JsonContentType;
        signingRequest.Headers["X-Amz-Target"] = TargetPrefix + action;
        var signed = await AWSSigV4Signer.SignAsync(
            signingRequest,
            new AWSSigV4Parameters
            {
                Credentials = await _identity.GetCredentialsAsync(cancellationToken).ConfigureAwait(false),
                Region = region,
                Service = ServiceName,
                SignedAt = _timeProvider.GetUtcNow().UtcDateTime,
            },
            cancellationToken).ConfigureAwait(false);

        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new ByteArrayContent(payload) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(JsonContentType);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", TargetPrefix + action);
        foreach (var (name, value) in signed.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var client = _httpClientFactory.CreateClient(RegistryServiceCollectionExtensions.HttpClientName);
        using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        if (response.IsSuccessStatusCode)
        {
            try
            {
                return await response.Content.ReadFromJsonAsync(responseType, cancellationToken).ConfigureAwait(false)
                    ?? throw new RegistryException($"{action}: ECR answered with an empty body", isTransient: false, statusCode: status);
            }
            catch (JsonException e)
            {
                throw new RegistryException($"{action}: ECR answered with malformed JSON", isTransient: false, statusCode: status, inner: e);
            }
        }

        var errorType = await ReadErrorTypeAsync(response, cancellationToken).ConfigureAwait(false);
        return errorType switch
        {
            "ImageNotFoundException" => null,
            "ThrottlingException" or "ServerException" or "ServiceUnavailableException" or "LimitExceededException"
                => throw new RegistryException($"{action}: ECR is busy ({errorType}, HTTP {status})", isTransient: true, statusCode: status),
            "RepositoryNotFoundException"
                => throw new RegistryException($"{action}: ECR has no repository '{_repository}' (check Deployer:Image:Repository and Deployer:Registry:RegistryId)", isTransient: false, statusCode: status),
            _ => throw new RegistryException(
                $"{action}: ECR refused the call ({errorType ?? "unknown error"}, HTTP {status})",
                RegistryCall.IsTransientStatus(status),
                statusCode: status),
        };
    }

    private static async Task<string?> ReadErrorTypeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var type = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.FirstOrDefault() : null;
        if (type is null)
        {
            try
            {
                type = (await response.Content.ReadFromJsonAsync(RegistryJsonContext.Default.EcrError, cancellationToken).ConfigureAwait(false))?.Type;
            }
            catch (JsonException)
            {
                // A proxy's HTML error page: the status code is all we have.
            }
        }

        // Types come as "ImageNotFoundException", "com.amazonaws.ecr#ImageNotFoundException" or "X:http://...".
        type = type?.Split('#')[^1].Split(':')[0];
        return string.IsNullOrEmpty(type) ? null : type;
    }

    private string DerivedImageName()
    {
        if (string.IsNullOrEmpty(_options.RegistryId))
        {
            return _repository;
        }

        try
        {
            var region = _target.Value.Region;
            return $"{_options.RegistryId}.dkr.ecr.{region.SystemName}.{region.PartitionDnsSuffix ?? "amazonaws.com"}/{_repository}";
        }
        catch (RegistryException)
        {
            // No region yet; the first call reports that clearly.
            return _repository;
        }
    }

    private (RegionEndpoint Region, Uri Endpoint) ResolveTarget()
    {
        var regionName = NullIfEmpty(_options.Region) ?? FallbackRegionFactory.GetRegionEndpoint()?.SystemName
            ?? throw new RegistryException("no AWS region: set Deployer:Registry:Region or AWS_REGION", isTransient: false);
        var region = RegionEndpoint.GetBySystemName(regionName);
        var endpoint = NullIfEmpty(_options.Endpoint) is { } configured
            ? new Uri(configured, UriKind.Absolute)
            : new Uri($"https://api.ecr.{region.SystemName}.{region.PartitionDnsSuffix ?? "amazonaws.com"}/");
        return (region, endpoint);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private sealed record CachedToken(RegistryCredentials Credentials, DateTimeOffset ExpiresAt, DateTimeOffset RefreshAt, Uri ProxyEndpoint);
}
