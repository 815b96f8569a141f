using Deployer.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Registry;

namespace Deployer.Tests.Registry;

/// <summary>
/// Signature verification through the deployer's own registry clients (OCI and ECR) against the real
/// docker-registry, with signature manifests pushed in cosign's format.
/// </summary>
public sealed class ImageSignatureVerifierTests : IAsyncLifetime, IDisposable
{
    private const string Repository = "student-performance";
    private readonly CosignSigner _signer = new();
    private readonly CosignSigner _stranger = new();
    private readonly string _keys = Directory.CreateTempSubdirectory("sp-keys-").FullName;
    private LocalRegistry _registry = null!;

    public async Task InitializeAsync() => _registry = await LocalRegistry.StartAsync();

    public async Task DisposeAsync()
    {
        await _registry.DisposeAsync();
        Directory.Delete(_keys, recursive: true);
    }

    public void Dispose()
    {
        _signer.Dispose();
        _stranger.Dispose();
    }

    [Fact]
    public async Task VerifyAsync_SignedByTheKey_Trusts()
    {
        // Arrange
        var digest = await _registry.PushImageAsync(Repository, "v1");
        await _signer.PushAsync(_registry, Repository, digest);
        await using var host = Host(required: true);

        // Act
        var verdict = await Verifier(host).VerifyAsync(digest, CancellationToken.None);

        // Assert
        Assert.True(verdict.Trusted, verdict.Detail);
    }

    [Fact]
    public async Task VerifyAsync_Unsigned_RefusedWhenRequiredAllowedWhenNot()
    {
        // Arrange
        var digest = await _registry.PushImageAsync(Repository, "v1");
        await using var required = Host(required: true);
        await using var optional = Host(required: false);

        // Act
        var refused = await Verifier(required).VerifyAsync(digest, CancellationToken.None);
        var allowed = await Verifier(optional).VerifyAsync(digest, CancellationToken.None);

        // Assert
        Assert.False(refused.Trusted);
        Assert.Contains("unsigned", refused.Detail, StringComparison.Ordinal);
        Assert.Contains(CosignSignature.SignatureTag(digest), refused.Detail, StringComparison.Ordinal);
        Assert.True(allowed.Trusted);
    }

    [Fact]
    public async Task VerifyAsync_SignedByAnotherKey_RefusedEvenWhenNotRequired()
    {
        // Arrange
        var digest = await _registry.PushImageAsync(Repository, "v1");
        await _stranger.PushAsync(_registry, Repository, digest);
        await using var host = Host(required: false);

        // Act
        var verdict = await Verifier(host).VerifyAsync(digest, CancellationToken.None);

        // Assert
        Assert.False(verdict.Trusted);
        Assert.Contains("not by the key", verdict.Detail, StringComparison.Ordinal);
    }

    /// <summary>A key rotation: the file holds the old and the new key, and digests signed by either roll out.</summary>
    [Fact]
    public async Task VerifyAsync_KeyFileWithTwoKeys_TrustsASignatureByEither_NamingTheKey()
    {
        // Arrange
        using var next = new CosignSigner();
        var byOld = await _registry.PushImageAsync(Repository, "v1");
        var byNew = await _registry.PushImageAsync(Repository, "v2");
        var byStranger = await _registry.PushImageAsync(Repository, "v3");
        await _signer.PushAsync(_registry, Repository, byOld);
        await next.PushAsync(_registry, Repository, byNew);
        await _stranger.PushAsync(_registry, Repository, byStranger);
        var keys = Path.Combine(_keys, "rotation.pub");
        await File.WriteAllTextAsync(keys, _signer.PublicKeyPem + "\n" + next.PublicKeyPem + "\n");
        await using var host = RegistryTestHost.ForOci(_registry.Endpoint, Repository, extra: new Dictionary<string, string?>
        {
            ["Deployer:Signature:PublicKeyPath"] = keys,
            ["Deployer:Signature:Required"] = "true",
        });

        // Act
        var old = await Verifier(host).VerifyAsync(byOld, CancellationToken.None);
        var current = await Verifier(host).VerifyAsync(byNew, CancellationToken.None);
        var stranger = await Verifier(host).VerifyAsync(byStranger, CancellationToken.None);

        // Assert
        Assert.True(old.Trusted, old.Detail);
        Assert.Contains(CosignSignature.Fingerprint(_signer.Key), old.Detail, StringComparison.Ordinal);
        Assert.True(current.Trusted, current.Detail);
        Assert.Contains(CosignSignature.Fingerprint(next.Key), current.Detail, StringComparison.Ordinal);
        Assert.False(stranger.Trusted);
        Assert.Contains("not by any of the 2 keys", stranger.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAsync_SignatureOfAnotherDigestCopiedOver_Refused()
    {
        // Arrange: our key's valid signature of v1, stored as v2's signature.
        var v1 = await _registry.PushImageAsync(Repository, "v1");
        var v2 = await _registry.PushImageAsync(Repository, "v2");
        await _signer.PushAsync(_registry, Repository, v2, signedDigest: v1);
        await using var host = Host(required: true);

        // Act
        var verdict = await Verifier(host).VerifyAsync(v2, CancellationToken.None);

        // Assert
        Assert.False(verdict.Trusted);
        Assert.Contains("names another digest", verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAsync_RegistryDown_ThrowsTransientRegistryException()
    {
        // Arrange
        var digest = await _registry.PushImageAsync(Repository, "v1");
        await using var host = Host(required: true);
        _registry.Stop();

        // Act
        var error = await Assert.ThrowsAsync<RegistryException>(() => Verifier(host).VerifyAsync(digest, CancellationToken.None));

        // Assert
        Assert.True(error.IsTransient);
    }

    [Fact]
    public async Task VerifyAsync_ThroughEcr_ReadsTheSignatureWithThePullToken()
    {
        // Arrange
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        var digest = await registry.PushImageAsync(Repository, "v1");
        await _signer.PushAsync(registry, Repository, digest);
        await using var ecr = await EcrStandIn.StartAsync(registry);
        await using var host = RegistryTestHost.Create(
            new Dictionary<string, string?>
            {
                ["Deployer:Registry:Kind"] = "Ecr",
                ["Deployer:Registry:Endpoint"] = ecr.Endpoint.ToString(),
                ["Deployer:Registry:Region"] = EcrStandIn.Region,
                ["Deployer:Image:Repository"] = Repository,
                ["Deployer:Signature:PublicKeyPath"] = _signer.WritePublicKey(_keys),
                ["Deployer:Signature:Required"] = "true",
            },
            services => services.AddSingleton(new AwsIdentity(EcrStandIn.Credentials)));

        // Act
        var verdict = await Verifier(host).VerifyAsync(digest, CancellationToken.None);

        // Assert
        Assert.True(verdict.Trusted, verdict.Detail);
        Assert.Empty(ecr.Rejections);
    }

    [Theory]
    [InlineData(true, "", "Deployer:Signature:PublicKeyPath is required")]
    [InlineData(false, "/nonexistent/cosign.pub", "Deployer:Signature:PublicKeyPath ('/nonexistent/cosign.pub')")]
    [InlineData(true, "{keys}/empty.pub", "Deployer:Signature:PublicKeyPath ('{keys}/empty.pub'): no PEM 'PUBLIC KEY' block")]
    public async Task Options_BadKeySettings_FailNamingTheKey(bool required, string path, string expected)
    {
        path = path.Replace("{keys}", _keys, StringComparison.Ordinal);
        expected = expected.Replace("{keys}", _keys, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(_keys, "empty.pub"), "");
        await using var host = RegistryTestHost.ForOci(_registry.Endpoint, Repository, extra: new Dictionary<string, string?>
        {
            ["Deployer:Signature:PublicKeyPath"] = path,
            ["Deployer:Signature:Required"] = required ? "true" : "false",
        });

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<SignatureOptions>>().Value);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private RegistryTestHost Host(bool required) => RegistryTestHost.ForOci(_registry.Endpoint, Repository, extra: new Dictionary<string, string?>
    {
        ["Deployer:Signature:PublicKeyPath"] = _signer.WritePublicKey(_keys),
        ["Deployer:Signature:Required"] = required ? "true" : "false",
    });

    private static IImageSignatureVerifier Verifier(RegistryTestHost host) => host.Services.GetRequiredService<IImageSignatureVerifier>();
}
