using System.Text.Json;
using Deployer.Tests.Support;
using Grpc.Net.Client;
using OpenQA.Selenium;
using StudentPerformance.V1;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// <c>Deployer:Edge:Tls:CertificatePath</c> under BlueGreen against the real registry, engine, edge (Dockerfile.edge)
/// and predictor images: a long-lived grpc-dotnet client over TLS loses no call through a rollout, and the predictor's
/// page loads over https in headless Chromium, both trusting only the test's own certificate.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed class TlsEndToEndTests(PredictorImages images) : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(180);
    private static readonly TestCertificate Certificate = TestCertificate.Create("edge-e2e");
    private readonly int _httpPort = LocalRegistry.FreePort();
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task BlueGreenRollout_TlsOnTheEdge_LosesNoCall_AndThePageLoadsOverHttps()
    {
        // Arrange: the operator's certificate file, v1 live behind a TLS edge, a client calling over TLS all along.
        var certificatePath = Path.Combine(Directory.CreateDirectory(Path.Combine(_rig.StateDirectory, "operator")).FullName, "edge.pem");
        Certificate.WriteTo(certificatePath);
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen(new Dictionary<string, string?>
        {
            ["Deployer:Edge:Tls:CertificatePath"] = certificatePath,
            ["Deployer:Container:Ports:1"] = $"127.0.0.1:{_httpPort}:8080",
            ["Deployer:HealthGate:BakeTime"] = "00:00:02",
        }));
        var grpc = new Uri($"https://127.0.0.1:{_rig.HostPort}");
        var trust = new TrustingHandler(Certificate);
        await Probes.WaitUntilAsync(async () => await ModelVersionAsync(grpc, trust) == images.V1ModelVersion, Long, "v1 over TLS through the edge", () => deployer.Logs.Text);
        await Probes.WaitUntilAsync(async () => await deployer.LastOutcomeAsync() == "Succeeded", Long, "v1's rollout to commit", () => deployer.Logs.Text);
        await using var client = new CallRecorder(grpc, handler: trust.Create());
        await client.WaitForMoreCallsAsync(5, Long);

        // Act: one rollout, its gate called through the TLS edge.
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await Probes.WaitUntilAsync(
            async () => (await deployer.StatusAsync()).GetProperty("lastRollout") is { ValueKind: JsonValueKind.Object } last
                && last.GetProperty("digest").GetString() == v2 && last.GetProperty("outcome").GetString() is "Succeeded" or "Refused" or "RolledBack" or "Failed",
            Long, "v2's rollout to end", () => deployer.Logs.Text);
        await client.WaitForMoreCallsAsync(5, Long);

        // Assert: committed, no call lost, the certificate reported, no warning about it.
        var status = await deployer.StatusAsync();
        Assert.Equal("Succeeded", status.GetProperty("lastRollout").GetProperty("outcome").GetString());
        Assert.Empty(client.Failures);
        Assert.Empty(client.NotServing);
        Assert.Equal(images.V2ModelVersion, await ModelVersionAsync(grpc, trust));
        Assert.Contains("CN=edge-e2e", status.GetProperty("edge").GetProperty("certificate").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(status.GetProperty("warnings").EnumerateArray(), w => w.GetProperty("kind").GetString() == "edge-tls");
        Assert.All(trust.Presented, f => Assert.Equal(Certificate.Fingerprint, f));

        // The predictor's page over https (h2 to the edge, HTTP/1.1 to the slot), trusting this certificate alone.
        using var browser = new Chromium(1000, 800, $"--ignore-certificate-errors-spki-list={Certificate.SpkiHash}");
        browser.Driver.Navigate().GoToUrl($"https://127.0.0.1:{_httpPort}/");
        browser.Until("the form built from the model's schema, over https", Long, d => d.FindElements(By.CssSelector("#field-race_ethnicity option")).Count > 1);
        Assert.Equal("https:", browser.Driver.ExecuteScript("return location.protocol"));
    }

    private static async Task<string?> ModelVersionAsync(Uri address, TrustingHandler trust)
    {
        try
        {
            using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = trust.Create(), DisposeHttpClient = true });
            var info = await new Predictor.PredictorClient(channel).GetModelInfoAsync(new GetModelInfoRequest(), deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(3));
            return info.ModelVersion;
        }
        catch (Exception ex) when (ex is Grpc.Core.RpcException or HttpRequestException)
        {
            return null;
        }
    }
}
