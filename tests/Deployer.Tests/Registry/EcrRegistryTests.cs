using System.Net;
using System.Text;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Deployer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Deployer.Registry;

namespace Deployer.Tests.Registry;

/// <summary>
/// Scenario (i): ECR mode against a loopback stand-in that verifies SigV4 itself and answers from the real
/// docker-registry, whose htpasswd accepts the tokens it issues.
/// </summary>
public sealed class EcrRegistryTests
{
    private const string Repository = "student-performance";

    [Fact]
    public async Task ResolveDigestAsync_SignedRequest_ReturnsDigestOfTheRealRegistry()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        var pushed = await registry.PushImageAsync(Repository, "latest");
        await using var ecr = await EcrStandIn.StartAsync(registry);
        await using var host = ForEcr(ecr.Endpoint, new AwsIdentity(EcrStandIn.Credentials));

        // Act
        var digest = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

        // Assert
        Assert.Equal(pushed, digest);
        Assert.Equal($"{registry.HostPort}/{Repository}", host.Registry.ImageName);
        Assert.Empty(ecr.Rejections);
        Assert.Equal(1, ecr.DescribeImagesCalls);
    }

    [Fact]
    public async Task ResolveDigestAsync_UnknownTag_ReturnsNull()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        await registry.PushImageAsync(Repository, "v1");
        await using var ecr = await EcrStandIn.StartAsync(registry);
        await using var host = ForEcr(ecr.Endpoint, new AwsIdentity(EcrStandIn.Credentials));

        // Act
        var digest = await host.Registry.ResolveDigestAsync("v2", CancellationToken.None);

        // Assert
        Assert.Null(digest);
        Assert.Empty(ecr.Rejections);
    }

    [Fact]
    public async Task ResolveDigestAsync_WrongSecretKey_IsRefusedAsBadSignature()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        await using var ecr = await EcrStandIn.StartAsync(registry);
        var wrongSecret = new BasicAWSCredentials(EcrStandIn.AccessKeyId, "not-the-secret-the-stand-in-knows");
        await using var host = ForEcr(ecr.Endpoint, new AwsIdentity(wrongSecret));

        // Act
        var error = await Assert.ThrowsAsync<RegistryException>(() => host.Registry.ResolveDigestAsync("latest", CancellationToken.None));

        // Assert
        Assert.False(error.IsTransient);
        Assert.Equal(403, error.StatusCode);
        Assert.Contains("InvalidSignatureException", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, ecr.DescribeImagesCalls);
        Assert.Contains(ecr.Rejections, r => r.Contains("signature we calculated", StringComparison.Ordinal));
        Assert.DoesNotContain("not-the-secret", host.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveDigestAsync_ClockTwentyMinutesBehind_IsRefusedAsExpired()
    {
        // Arrange: the deployer's clock lags the stand-in's, so its signatures are already stale.
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        await using var ecr = await EcrStandIn.StartAsync(registry);
        var laggingClock = new FakeTimeProvider(TimeProvider.System.GetUtcNow() - TimeSpan.FromMinutes(20));
        await using var host = ForEcr(ecr.Endpoint, new AwsIdentity(EcrStandIn.Credentials), laggingClock);

        // Act
        var error = await Assert.ThrowsAsync<RegistryException>(() => host.Registry.ResolveDigestAsync("latest", CancellationToken.None));

        // Assert
        Assert.Equal(403, error.StatusCode);
        Assert.Contains(ecr.Rejections, r => r.StartsWith("Signature expired", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StandIn_BodyChangedAfterSigning_RefusesRequest()
    {
        // Arrange: a correctly signed DescribeImages whose body is swapped on the way.
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        await using var ecr = await EcrStandIn.StartAsync(registry);
        var signedBody = Encoding.UTF8.GetBytes("""{"repositoryName":"student-performance","imageIds":[{"imageTag":"latest"}]}""");
        var sentBody = Encoding.UTF8.GetBytes("""{"repositoryName":"other-repository","imageIds":[{"imageTag":"latest"}]}""");
        var signing = new AWSSigningRequest { HttpMethod = HttpMethod.Post, RequestUri = ecr.Endpoint, Content = signedBody };
        signing.Headers["Content-Type"] = "application/x-amz-json-1.1";
        signing.Headers["X-Amz-Target"] = "AmazonEC2ContainerRegistry_V20150921.DescribeImages";
        var signature = AWSSigV4Signer.Sign(signing, new AWSSigV4Parameters
        {
            Credentials = EcrStandIn.Credentials,
            Region = RegionEndpoint.GetBySystemName(EcrStandIn.Region),
            Service = "ecr",
            SignedAt = TimeProvider.System.GetUtcNow().UtcDateTime,
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, ecr.Endpoint) { Content = new ByteArrayContent(sentBody) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-amz-json-1.1");
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DescribeImages");
        foreach (var (name, value) in signature.Headers.Where(h => !h.Key.Equals("X-Amz-Content-Sha256", StringComparison.OrdinalIgnoreCase)))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var client = new HttpClient();

        // Act
        using var response = await client.SendAsync(request);

        // Assert
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(0, ecr.DescribeImagesCalls);
        Assert.Contains(ecr.Rejections, r => r.Contains("signature we calculated", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetPullCredentialsAsync_TokenCachedUntilExpiryMarginThenRefreshed()
    {
        // Arrange: both sides share a fake clock; tokens live one hour and are refreshed 10 minutes early.
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        await using var ecr = await EcrStandIn.StartAsync(registry, clock);
        ecr.TokenLifetime = TimeSpan.FromHours(1);
        await using var host = ForEcr(ecr.Endpoint, new AwsIdentity(EcrStandIn.Credentials), clock, new Dictionary<string, string?>
        {
            ["Deployer:Registry:TokenRefreshMargin"] = "00:10:00",
        });

        // Act
        var first = await host.Registry.GetPullCredentialsAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(45));
        var cached = await host.Registry.GetPullCredentialsAsync(CancellationToken.None);
        var callsBeforeExpiry = ecr.AuthorizationTokenCalls;
        clock.Advance(TimeSpan.FromMinutes(6));
        var refreshed = await host.Registry.GetPullCredentialsAsync(CancellationToken.None);
        var callsAfterExpiry = ecr.AuthorizationTokenCalls;
        host.Registry.InvalidateCredentials();
        var afterInvalidate = await host.Registry.GetPullCredentialsAsync(CancellationToken.None);

        // Assert
        Assert.NotNull(first);
        Assert.Same(first, cached);
        Assert.Equal(1, callsBeforeExpiry);
        Assert.Equal(2, callsAfterExpiry);
        Assert.NotSame(first, refreshed);
        Assert.Equal(3, ecr.AuthorizationTokenCalls);
        Assert.Equal("AWS", afterInvalidate!.Username);
        Assert.Equal(registry.HostPort, afterInvalidate.ServerAddress);
        Assert.DoesNotContain(registry.Password, host.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetPullCredentialsAsync_IssuedToken_PullsByDigestWithDocker()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        var pushed = await registry.PushImageAsync(Repository, "latest");
        await using var ecr = await EcrStandIn.StartAsync(registry);
        await using var host = ForEcr(ecr.Endpoint, new AwsIdentity(EcrStandIn.Credentials));
        var digest = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);
        var reference = $"{host.Registry.ImageName}@{digest}";
        registry.TrackForCleanup(reference);
        var anonymous = registry.Docker.WithFreshConfig();
        var withToken = registry.Docker.WithFreshConfig();

        // Act
        var (anonymousExit, anonymousOutput) = await anonymous.TryRunAsync(["pull", reference]);
        var credentials = await host.Registry.GetPullCredentialsAsync(CancellationToken.None);
        await withToken.RunAsync(["login", credentials!.ServerAddress, "--username", credentials.Username, "--password-stdin"], stdin: credentials.Password);
        var pulled = await withToken.RunAsync(["pull", reference]);

        // Assert
        Assert.Equal(pushed, digest);
        Assert.NotEqual(0, anonymousExit);
        Assert.Contains("no basic auth credentials", anonymousOutput, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(digest!, pulled, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveDigestAsync_ThrottledTwice_RetriesAndSucceeds()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        var pushed = await registry.PushImageAsync(Repository, "latest");
        await using var ecr = await EcrStandIn.StartAsync(registry);
        await using var host = ForEcr(ecr.Endpoint, new AwsIdentity(EcrStandIn.Credentials));
        ecr.FailNext(1, "ThrottlingException", 400);
        ecr.FailNext(1, "ServerException", 500);

        // Act
        var digest = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

        // Assert
        Assert.Equal(pushed, digest);
        Assert.Equal(2, host.Logs.Count(Log.RetryEventId));
    }

    [Fact]
    public async Task ResolveDigestAsync_MissingRepository_ThrowsNonTransientNamingTheKey()
    {
        // Arrange: the stand-in reports a missing repository as ECR does.
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        await using var ecr = await EcrStandIn.StartAsync(registry);
        await using var host = ForEcr(ecr.Endpoint, new AwsIdentity(EcrStandIn.Credentials));
        ecr.FailNext(1, "RepositoryNotFoundException", 400);

        // Act
        var error = await Assert.ThrowsAsync<RegistryException>(() => host.Registry.ResolveDigestAsync("latest", CancellationToken.None));

        // Assert
        Assert.False(error.IsTransient);
        Assert.Contains("Deployer:Image:Repository", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, host.Logs.Count(Log.RetryEventId));
    }

    [Theory]
    [InlineData("210987654321", "210987654321.dkr.ecr.eu-west-1.amazonaws.com/student-performance")]
    [InlineData(null, "student-performance")]
    public async Task ImageName_BeforeAnyCall_IsDerivedWithoutThrowing(string? registryId, string expected)
    {
        // Arrange: the worker reads ImageName at start, before ECR has answered (nothing listens on this endpoint).
        await using var host = ForEcr(new Uri("http://127.0.0.1:9"), new AwsIdentity(EcrStandIn.Credentials), extra: new Dictionary<string, string?>
        {
            ["Deployer:Registry:RegistryId"] = registryId,
        });

        // Act
        var name = host.Registry.ImageName;

        // Assert
        Assert.Equal(expected, name);
    }

    private static RegistryTestHost ForEcr(Uri endpoint, AwsIdentity identity, TimeProvider? clock = null, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Deployer:Registry:Kind"] = "Ecr",
            ["Deployer:Registry:Endpoint"] = endpoint.ToString(),
            ["Deployer:Registry:Region"] = EcrStandIn.Region,
            ["Deployer:Image:Repository"] = Repository,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return RegistryTestHost.Create(settings, services =>
        {
            services.AddSingleton(identity);
            if (clock is not null)
            {
                services.AddSingleton(clock);
            }
        });
    }
}
