using Deployer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Deployer.Registry;

namespace Deployer.Tests.Registry;

/// <summary>OCI mode against the real docker-registry, fed by the real Docker engine.</summary>
public sealed class OciRegistryTests
{
    private const string Repository = "sp-test/predictor";

    [Fact]
    public async Task ResolveDigestAsync_AnonymousRegistry_ReturnsDigestDockerPushReported()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync();
        var pushed = await registry.PushImageAsync(Repository, "latest");
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository);

        // Act
        var digest = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

        // Assert
        Assert.Equal(pushed, digest);
        Assert.Equal($"{registry.HostPort}/{Repository}", host.Registry.ImageName);
        Assert.Null(await host.Registry.GetPullCredentialsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ResolveDigestAsync_TagMovesToNewImage_ReturnsNewDigest()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync();
        var first = await registry.PushImageAsync(Repository, "latest");
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository);
        Assert.Equal(first, await host.Registry.ResolveDigestAsync("latest", CancellationToken.None));

        // Act
        var second = await registry.PushImageAsync(Repository, "latest");
        var digest = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

        // Assert
        Assert.NotEqual(first, second);
        Assert.Equal(second, digest);
    }

    [Fact]
    public async Task ResolveDigestAsync_UnknownTagOrRepository_ReturnsNull()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync();
        await registry.PushImageAsync(Repository, "v1");
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository);
        await using var otherRepository = RegistryTestHost.ForOci(registry.Endpoint, "sp-test/missing");

        // Act
        var unknownTag = await host.Registry.ResolveDigestAsync("v2", CancellationToken.None);
        var unknownRepository = await otherRepository.Registry.ResolveDigestAsync("v1", CancellationToken.None);

        // Assert
        Assert.Null(unknownTag);
        Assert.Null(unknownRepository);
    }

    [Fact]
    public async Task ResolveDigestAsync_HtpasswdWithGoodCredentials_ReturnsDigestAndThoseCredentialsPull()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd);
        var pushed = await registry.PushImageAsync(Repository, "latest");
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository, registry.Username, registry.Password);

        // Act
        var digest = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);
        var credentials = await host.Registry.GetPullCredentialsAsync(CancellationToken.None);

        // Assert
        Assert.Equal(pushed, digest);
        Assert.NotNull(credentials);
        var docker = registry.Docker.WithFreshConfig();
        var reference = $"{host.Registry.ImageName}@{digest}";
        registry.TrackForCleanup(reference);
        await docker.RunAsync(["login", credentials.ServerAddress, "--username", credentials.Username, "--password-stdin"], stdin: credentials.Password);
        await docker.RunAsync(["pull", reference]);
        Assert.DoesNotContain(registry.Password, host.Logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(registry.Password, credentials.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveDigestAsync_HtpasswdWithWrongPassword_ThrowsNonTransientWithoutRetrying()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd);
        await registry.PushImageAsync(Repository, "latest");
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository, registry.Username, "wrong-password");

        // Act
        var error = await Assert.ThrowsAsync<RegistryException>(() => host.Registry.ResolveDigestAsync("latest", CancellationToken.None));

        // Assert
        Assert.False(error.IsTransient);
        Assert.Equal(401, error.StatusCode);
        Assert.Contains("refused the configured credentials", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, host.Logs.Count(Log.RetryEventId));
    }

    [Fact]
    public async Task ResolveDigestAsync_HtpasswdWithoutCredentials_ThrowsNamingTheKeys()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd);
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository);

        // Act
        var error = await Assert.ThrowsAsync<RegistryException>(() => host.Registry.ResolveDigestAsync("latest", CancellationToken.None));

        // Assert
        Assert.False(error.IsTransient);
        Assert.Contains("Deployer:Registry:Username", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolveDigestAsync_TokenAuthRegistry_FetchesBearerTokenTheRegistryAccepts()
    {
        // Arrange: the real registry verifies the realm's JWT signature, issuer, audience and scope.
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Token);
        var pushed = await registry.PushImageAsync(Repository, "latest");
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository, registry.Username, registry.Password);
        var realm = registry.TokenRealm!;
        var issuedBefore = realm.TokensIssued;

        // Act
        var first = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);
        var issuedAfterFirst = realm.TokensIssued;
        var second = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);
        var issuedAfterSecond = realm.TokensIssued;
        host.Registry.InvalidateCredentials();
        var third = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

        // Assert
        Assert.Equal(pushed, first);
        Assert.Equal(pushed, second);
        Assert.Equal(pushed, third);
        Assert.Equal(issuedBefore + 1, issuedAfterFirst);
        Assert.Equal(issuedAfterFirst, issuedAfterSecond);
        Assert.Equal(issuedAfterSecond + 1, realm.TokensIssued);
        Assert.Equal(2, host.Logs.Count(Log.BearerTokenIssuedEventId));
    }

    [Fact]
    public async Task ResolveDigestAsync_BearerTokenExpired_FetchesANewOne()
    {
        // Arrange: our clock runs ahead of the token's lifetime; the registry itself still checks real time.
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Token);
        var pushed = await registry.PushImageAsync(Repository, "latest");
        var realm = registry.TokenRealm!;
        realm.TokenLifetime = TimeSpan.FromMinutes(2);
        var clock = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var host = RegistryTestHost.Create(
            new Dictionary<string, string?>
            {
                ["Deployer:Registry:Kind"] = "Oci",
                ["Deployer:Registry:Endpoint"] = registry.Endpoint.ToString(),
                ["Deployer:Registry:Username"] = registry.Username,
                ["Deployer:Registry:Password"] = registry.Password,
                ["Deployer:Image:Repository"] = Repository,
            },
            services => services.AddSingleton<TimeProvider>(clock));
        Assert.Equal(pushed, await host.Registry.ResolveDigestAsync("latest", CancellationToken.None));
        var issued = realm.TokensIssued;

        // Act
        clock.Advance(TimeSpan.FromMinutes(1));
        var beforeExpiry = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);
        var issuedBeforeExpiry = realm.TokensIssued;
        clock.Advance(TimeSpan.FromMinutes(2));
        var afterExpiry = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

        // Assert
        Assert.Equal(pushed, beforeExpiry);
        Assert.Equal(pushed, afterExpiry);
        Assert.Equal(issued, issuedBeforeExpiry);
        Assert.Equal(issued + 1, realm.TokensIssued);
    }

    [Fact]
    public async Task ResolveDigestAsync_TokenAuthRegistry_NeverSendsThePasswordToTheRegistry()
    {
        // Arrange: a recording pass-through proxy in front of the registry; the token realm is reached directly.
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Token);
        var pushed = await registry.PushImageAsync(Repository, "latest");
        await using var proxy = await RegistryProxy.StartAsync(registry.Endpoint, dropDigestHeader: false);
        await using var host = RegistryTestHost.ForOci(proxy.Address, Repository, registry.Username, registry.Password);

        // Act
        var digest = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

        // Assert
        Assert.Equal(pushed, digest);
        Assert.Contains(proxy.AuthorizationSchemes, scheme => scheme == "Bearer");
        Assert.DoesNotContain(proxy.AuthorizationSchemes, scheme => scheme == "Basic");
    }

    [Theory]
    [InlineData("realm=\"http://127.0.0.1:1/token\",service=\"reg\",scope=\"repository:a/b:pull,push\"", "http://127.0.0.1:1/token", "reg", "repository:a/b:pull,push")]
    [InlineData("realm=\"https://auth.example/token\", service=registry.example, scope=\"repository:x:pull\"", "https://auth.example/token", "registry.example", "repository:x:pull")]
    public void ParseChallenge_QuotedAndBareValues_ReadsRealmServiceAndScope(string parameters, string realm, string service, string scope)
    {
        // Act
        var challenge = OciRegistry.ParseChallenge(parameters);

        // Assert
        Assert.Equal(realm, challenge["realm"]);
        Assert.Equal(service, challenge["service"]);
        Assert.Equal(scope, challenge["scope"]);
    }

    [Fact]
    public async Task ResolveDigestAsync_TokenAuthWithWrongPassword_ThrowsNonTransient()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Token);
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository, registry.Username, "wrong-password");

        // Act
        var error = await Assert.ThrowsAsync<RegistryException>(() => host.Registry.ResolveDigestAsync("latest", CancellationToken.None));

        // Assert
        Assert.False(error.IsTransient);
        Assert.Equal(401, error.StatusCode);
        Assert.Contains("token service refused", error.Message, StringComparison.Ordinal);
        Assert.True(registry.TokenRealm!.Refusals >= 1);
    }

    [Fact]
    public async Task ResolveDigestAsync_RegistryStopped_RetriesThenThrowsTransientAndRecoversWhenBack()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync();
        var pushed = await registry.PushImageAsync(Repository, "latest");
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository);
        Assert.Equal(pushed, await host.Registry.ResolveDigestAsync("latest", CancellationToken.None));
        registry.Stop();

        // Act
        var error = await Assert.ThrowsAsync<RegistryException>(() => host.Registry.ResolveDigestAsync("latest", CancellationToken.None));
        await registry.RestartAsync();
        var recovered = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

        // Assert
        Assert.True(error.IsTransient);
        Assert.Equal(new RegistryOptions().MaxRetryAttempts, host.Logs.Count(Log.RetryEventId));
        Assert.Equal(pushed, recovered);
    }

    [Fact]
    public async Task ResolveDigestAsync_LongOutage_OpensCircuitThenClosesWhenRegistryReturns()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync();
        var pushed = await registry.PushImageAsync(Repository, "latest");
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository, extra: new Dictionary<string, string?>
        {
            ["Deployer:Registry:BreakDuration"] = "00:00:00.500",
        });
        registry.Stop();

        // Act: polls keep failing until the breaker opens; then a poll fails fast without a retry ladder.
        RegistryException? paused = null;
        for (var poll = 0; poll < 5 && paused is null; poll++)
        {
            var error = await Assert.ThrowsAsync<RegistryException>(() => host.Registry.ResolveDigestAsync("latest", CancellationToken.None));
            Assert.True(error.IsTransient);
            if (error.Message.Contains("paused", StringComparison.Ordinal))
            {
                paused = error;
            }
        }

        await registry.RestartAsync();
        var recovered = await PollUntilResolvedAsync(host.Registry);

        // Assert
        Assert.NotNull(paused);
        Assert.Equal(1, host.Logs.Count(Log.CircuitOpenedEventId));
        Assert.Equal(pushed, recovered);
    }

    [Fact]
    public async Task ResolveDigestAsync_MultiArchTag_ReturnsManifestListDigest()
    {
        // Arrange: the digest to pin is the list's, not one platform's, or RepoDigests never match after a pull.
        await using var registry = await LocalRegistry.StartAsync();
        var listDigest = await registry.PushMultiArchAsync(Repository, "latest");
        await using var host = RegistryTestHost.ForOci(registry.Endpoint, Repository);

        // Act
        var digest = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

        // Assert
        Assert.Equal(listDigest, digest);
    }

    [Fact]
    public async Task ResolveDigestAsync_RegistryOmitsDigestHeader_ComputesItFromManifestBytes()
    {
        // Arrange: a pass-through proxy in front of the real registry that drops Docker-Content-Digest, as some registries do.
        await using var registry = await LocalRegistry.StartAsync();
        var pushed = await registry.PushImageAsync(Repository, "latest");
        await using var proxy = await RegistryProxy.StartAsync(registry.Endpoint, dropDigestHeader: true);
        await using var host = RegistryTestHost.ForOci(proxy.Address, Repository);

        // Act
        var digest = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

        // Assert
        Assert.Equal(pushed, digest);
        Assert.Equal(1, host.Logs.Count(Log.DigestComputedFromBodyEventId));
    }

    private static async Task<string?> PollUntilResolvedAsync(IImageRegistry registry)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await registry.ResolveDigestAsync("latest", CancellationToken.None);
            }
            catch (RegistryException e) when (e.IsTransient && attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }
}
