using System.Security.Cryptography;
using System.Text;
using Deployer.Tests.Support;
using StudentPerformance.Deployer.Registry;

namespace Deployer.Tests.Registry;

/// <summary>The pure cosign format: a real signature from cosign's repository (TestData/cosign/README.md) and our own.</summary>
public sealed class CosignSignatureTests
{
    private static readonly string Data = Path.Combine(PredictorImages.RepositoryRoot, "tests", "Deployer.Tests", "Registry", "TestData", "cosign");

    [Fact]
    public void VerifiesHash_SignatureFromCosignsRepository_Verifies()
    {
        // Arrange
        // Through the reader the deployer uses for Deployer:Signature:PublicKeyPath.
        using var key = Assert.Single(CosignSignature.LoadPublicKeys(File.ReadAllText(Path.Combine(Data, "cosign.pub"))));
        var hash = Convert.FromHexString(File.ReadAllText(Path.Combine(Data, "artifact.sha256")).Trim());
        var signature = File.ReadAllText(Path.Combine(Data, "signature.b64"));

        // Act
        var verifies = CosignSignature.VerifiesHash(key, hash, signature);
        hash[0] ^= 1;
        var verifiesAltered = CosignSignature.VerifiesHash(key, hash, signature);

        // Assert
        Assert.True(verifies);
        Assert.False(verifiesAltered);
    }

    [Fact]
    public void SignedDigest_PayloadFromCosignsReadme_NamesTheDigest()
    {
        var payload = File.ReadAllBytes(Path.Combine(Data, "payload.json"));

        Assert.Equal("sha256:7a91c50d922925f152fec96ed1d84b7bc6b2079c169d68826f6cf307f22d40e6", CosignSignature.SignedDigest(payload));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"critical":{"image":{"docker-manifest-digest":"sha256:ab"},"type":"something else"}}""")]
    [InlineData("""{"critical":{"type":"cosign container image signature"}}""")]
    [InlineData("""[1,2]""")]
    public void SignedDigest_NotACosignImagePayload_IsNull(string payload) =>
        Assert.Null(CosignSignature.SignedDigest(Encoding.UTF8.GetBytes(payload)));

    [Fact]
    public void Verifies_OwnSignature_VerifiesOnlyWithItsKeyAndItsBytes()
    {
        // Arrange
        using var signer = new CosignSigner();
        using var other = new CosignSigner();
        var payload = CosignSigner.Payload("127.0.0.1:5000/sp", "sha256:" + new string('a', 64));
        var signature = signer.Sign(payload);
        using var key = CosignSignature.LoadPublicKey(signer.PublicKeyPem);
        using var otherKey = CosignSignature.LoadPublicKey(other.PublicKeyPem);
        var altered = (byte[])payload.Clone();
        altered[^3] ^= 1;

        // Act / Assert
        Assert.True(CosignSignature.Verifies(key, payload, signature));
        Assert.False(CosignSignature.Verifies(otherKey, payload, signature));
        Assert.False(CosignSignature.Verifies(key, altered, signature));
        Assert.False(CosignSignature.Verifies(key, payload, "not base64!"));
    }

    [Fact]
    public void SignatureTag_Digest_IsCosignsTag() =>
        Assert.Equal("sha256-" + new string('b', 64) + ".sig", CosignSignature.SignatureTag("sha256:" + new string('b', 64)));

    [Fact]
    public void LoadPublicKey_P384Key_IsRefused()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);

        var error = Assert.Throws<CryptographicException>(() => CosignSignature.LoadPublicKey(p384.ExportSubjectPublicKeyInfoPem()));

        Assert.Contains("P-256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadPublicKeys_OldAndNewKeyConcatenated_ReadsBothInOrder()
    {
        using var old = new CosignSigner();
        using var current = new CosignSigner();

        var keys = CosignSignature.LoadPublicKeys($"# rotation: the old key until every kept digest is signed anew\n{old.PublicKeyPem}\n{current.PublicKeyPem}\n");

        try
        {
            Assert.Equal(
                [CosignSignature.Fingerprint(old.Key), CosignSignature.Fingerprint(current.Key)],
                keys.Select(CosignSignature.Fingerprint));
            Assert.NotEqual(CosignSignature.Fingerprint(old.Key), CosignSignature.Fingerprint(current.Key));
            Assert.Matches("^[0-9a-f]{16}$", CosignSignature.Fingerprint(old.Key));
        }
        finally
        {
            foreach (var key in keys)
            {
                key.Dispose();
            }
        }
    }

    [Fact]
    public void LoadPublicKeys_APrivateKeyBlock_IsRefusedNamingItsLabel()
    {
        using var signer = new CosignSigner();

        var error = Assert.Throws<CryptographicException>(() => CosignSignature.LoadPublicKeys(signer.PublicKeyPem + "\n" + signer.Key.ExportECPrivateKeyPem()));

        Assert.Contains("PEM block 2 is a 'EC PRIVATE KEY'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a key at all")]
    public void LoadPublicKeys_NoPemBlock_IsRefused(string text)
    {
        var error = Assert.Throws<CryptographicException>(() => CosignSignature.LoadPublicKeys(text));

        Assert.Contains("no PEM 'PUBLIC KEY' block", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SignatureLayers_ManifestFromSigner_ListsPayloadAndSignature()
    {
        var payload = Encoding.UTF8.GetBytes("{}");

        var layers = CosignSignature.SignatureLayers(CosignSigner.Manifest(CosignSigner.Config, payload, "c2ln"));

        var layer = Assert.Single(layers);
        Assert.Equal(CosignSigner.Digest(payload), layer.PayloadDigest);
        Assert.Equal("c2ln", layer.Signature);
    }
}
