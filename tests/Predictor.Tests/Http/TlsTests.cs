using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>The optional TLS endpoint: one port, gRPC (h2) and HTTPS (http/1.1) told apart by ALPN.</summary>
[Collection(FrontDoorGroup.Name)]
public sealed class TlsTests(FrontDoorFixture fixture)
{
    [Theory]
    [InlineData("pem")]
    [InlineData("pfx")]
    public async Task TlsEndpoint_WithCertificate_ServesGrpcAndHttps(string format)
    {
        using var certificate = CreateCertificate();
        var settings = WriteCertificate(certificate, format);
        settings["FrontDoor:Tls:Address"] = "127.0.0.1";
        settings["FrontDoor:Tls:Port"] = "{tls}";
        await using var server = await FrontDoorServer.StartAsync(fixture.ModelPath, settings);
        using var grpcHandler = TrustOnly(certificate);
        using var channel = GrpcChannel.ForAddress(server.TlsAddress!, new GrpcChannelOptions { HttpHandler = grpcHandler });
        using var httpsHandler = TrustOnly(certificate);
        using var https = new HttpClient(httpsHandler) { BaseAddress = server.TlsAddress };

        var info = await new StudentPerformance.V1.Predictor.PredictorClient(channel).GetModelInfoAsync(new GetModelInfoRequest());
        using var page = await https.GetAsync(new Uri("/", UriKind.Relative));
        using var rest = await https.PostAsJsonAsync("/v1/predict", RestTests.ValidStudent());

        Assert.Matches("^[0-9a-f]{16}$", info.ModelVersion);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(HttpVersion.Version11, page.Version);
        Assert.Contains("Student Performance Indicator", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(info.ModelVersion, (await RestTests.ReadJsonAsync(rest))["modelVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task TlsEndpoint_BrowserOverHttp2_PageServed()
    {
        using var certificate = CreateCertificate();
        var settings = WriteCertificate(certificate, "pem");
        settings["FrontDoor:Tls:Address"] = "127.0.0.1";
        settings["FrontDoor:Tls:Port"] = "{tls}";
        await using var server = await FrontDoorServer.StartAsync(fixture.ModelPath, settings);
        using var handler = TrustOnly(certificate);
        using var https = new HttpClient(handler)
        {
            BaseAddress = server.TlsAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        // Browsers negotiate h2 over TLS; the front door must answer there too (only cleartext h2c is gRPC-only).
        using var page = await https.GetAsync(new Uri("/", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(HttpVersion.Version20, page.Version);
    }

    [Fact]
    public void TlsEndpoint_NoCertificate_NothingListensForTls()
    {
        var addresses = fixture.Server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;

        Assert.Equal(2, addresses.Count);
        Assert.All(addresses, a => Assert.StartsWith("http://", a, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TlsEndpoint_CertificateWithoutKey_StartFailsNamingTheKey()
    {
        using var certificate = CreateCertificate();
        var certPath = Path.Combine(fixture.Directory, $"nokey-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(certPath, certificate.ExportCertificatePem());

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => FrontDoorServer.StartAsync(
            fixture.ModelPath,
            new Dictionary<string, string?> { ["FrontDoor:Tls:CertificatePath"] = certPath, ["FrontDoor:Tls:Port"] = "{tls}" }));

        Assert.Contains("FrontDoor:Tls:CertificatePath", error.Message, StringComparison.Ordinal);
        Assert.Contains(certPath, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TlsEndpoint_MissingCertificateFile_StartFailsNamingTheKey()
    {
        var missing = Path.Combine(fixture.Directory, "no-such-cert.pem");

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => FrontDoorServer.StartAsync(
            fixture.ModelPath,
            new Dictionary<string, string?> { ["FrontDoor:Tls:CertificatePath"] = missing, ["FrontDoor:Tls:Port"] = "{tls}" }));

        Assert.Contains("FrontDoor:Tls:CertificatePath", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A self-signed server certificate for 127.0.0.1 and localhost.</summary>
    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=front-door-test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: false));
        return request.CreateSelfSigned(TimeProvider.System.GetUtcNow().AddMinutes(-5), TimeProvider.System.GetUtcNow().AddDays(1));
    }

    /// <summary>Writes the certificate as PEM (certificate and key files) or as a password-protected PFX.</summary>
    private Dictionary<string, string?> WriteCertificate(X509Certificate2 certificate, string format)
    {
        var stem = Path.Combine(fixture.Directory, $"tls-{Guid.NewGuid():N}");
        if (format == "pfx")
        {
            const string password = "front-door-test";
            File.WriteAllBytes(stem + ".pfx", certificate.Export(X509ContentType.Pkcs12, password));
            return new() { ["FrontDoor:Tls:CertificatePath"] = stem + ".pfx", ["FrontDoor:Tls:Password"] = password };
        }

        File.WriteAllText(stem + ".crt", certificate.ExportCertificatePem());
        using var key = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(stem + ".key", key.ExportPkcs8PrivateKeyPem());
        return new() { ["FrontDoor:Tls:CertificatePath"] = stem + ".crt", ["FrontDoor:Tls:KeyPath"] = stem + ".key" };
    }

    /// <summary>A handler that trusts exactly this certificate, as a client given the server's cert would.</summary>
    private static SocketsHttpHandler TrustOnly(X509Certificate2 certificate) => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, presented, _, _) =>
                presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
        },
    };
}
