using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;
using Deployer.Tests.Support;
using Grpc.Core;
using Grpc.Net.Client;
using StudentPerformance.Deployer.Edge;

namespace Deployer.Tests.Edge;

/// <summary>
/// TLS on the edge against Debian's HAProxy 2.6 on loopback, with the deployer's own rendering and rotation
/// (<see cref="EdgeTls"/>) and grpc-dotnet clients that trust only the test's own certificates.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(RealEdgeSwitches.Name)]
public sealed class EdgeTlsTests : IAsyncLifetime
{
    private static readonly TestCertificate First = TestCertificate.Create("edge-first");
    private static readonly TestCertificate Second = TestCertificate.Create("edge-second");
    private EdgeRig _rig = null!;

    public async Task InitializeAsync()
    {
        _rig = await EdgeRig.StartAsync(certificate: First);
        await _rig.StartHaproxyAsync();
    }

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Tls_GrpcAndHttpThroughTheEdge_AnswerOnTheConfiguredCertificate()
    {
        var trust = new TrustingHandler(First);
        using var channel = GrpcChannel.ForAddress(_rig.GrpcAddress, new GrpcChannelOptions { HttpHandler = trust.Create() });
        using var http = new HttpClient(trust.Create()) { BaseAddress = _rig.HttpAddress };

        var slot = await EdgeRig.CheckAsync(channel);
        using var h2 = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/slot") { Version = new Version(2, 0), VersionPolicy = HttpVersionPolicy.RequestVersionExact });
        using var h1 = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/slot") { Version = new Version(1, 1), VersionPolicy = HttpVersionPolicy.RequestVersionExact });

        Assert.Equal("blue", slot);
        Assert.Equal(new Version(2, 0), h2.Version);
        Assert.Equal("blue", await h2.Content.ReadAsStringAsync());
        Assert.Equal(new Version(1, 1), h1.Version);
        Assert.Equal("blue", await h1.Content.ReadAsStringAsync());
        Assert.All(trust.Presented, f => Assert.Equal(First.Fingerprint, f));
        Assert.Null(_rig.Tls.Problem);
    }

    [Fact]
    public async Task Tls_PlaintextClient_GetsNoAnswer()
    {
        using var plain = GrpcChannel.ForAddress(new UriBuilder(_rig.GrpcAddress) { Scheme = "http" }.Uri);

        await Assert.ThrowsAsync<RpcException>(() => EdgeRig.CheckAsync(plain));
    }

    [Fact]
    public async Task Rotation_ReplacedFile_NewHandshakesGetIt_AndALongLivedChannelLosesNoCall()
    {
        var longLived = new TrustingHandler(First, Second);
        using var channel = GrpcChannel.ForAddress(_rig.GrpcAddress, new GrpcChannelOptions { HttpHandler = longLived.Create() });
        var calls = new StrongBox<int>();
        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var caller = CallInALoop(channel, calls, failures, stop.Token);
        // Every call counts, the first ones of the fresh edge too: the edge's lost calls were the test slot's early
        // answer (docs/edge.md, "Fixed: a call cut on a starved host").
        await WaitForCallsAsync(calls, 5);

        Second.WriteTo(_rig.CertificatePath);
        // What the deployer's next tick does.
        await _rig.Tls.PrepareAsync(CancellationToken.None);
        await _rig.Tls.ApplyAsync(CancellationToken.None);
        var fresh = new TrustingHandler(First, Second);
        using var freshChannel = GrpcChannel.ForAddress(_rig.GrpcAddress, new GrpcChannelOptions { HttpHandler = fresh.Create() });
        await EdgeRig.CheckAsync(freshChannel);
        await WaitForCallsAsync(calls, 5);
        await stop.CancelAsync();
        await caller;

        Assert.Null(_rig.Tls.Problem);
        Assert.Equal([Second.Fingerprint], fresh.Presented);
        Assert.True(failures.IsEmpty, $"{failures.Count} of {calls.Value} calls failed: {string.Join("; ", failures)}\n{_rig.HaproxyOutput}");
        // The long-lived channel kept its one connection, made on the first certificate.
        Assert.Equal([First.Fingerprint], longLived.Presented);
        Assert.Contains(_rig.TlsLogs.Entries, e => e.Id.Id == 5010);
    }

    [Theory]
    [InlineData("wrong key")]
    [InlineData("no key")]
    public async Task Rotation_BadFile_TheOldCertificateKeepsServing_AndTheProblemNamesTheKey(string fault)
    {
        TestCertificate.WriteFile(_rig.CertificatePath, fault == "wrong key" ? Second.PemWithKeyOf(First) : Second.CertificatePem);

        await _rig.Tls.PrepareAsync(CancellationToken.None);
        await _rig.Tls.ApplyAsync(CancellationToken.None);

        var trust = new TrustingHandler(First, Second);
        using var channel = GrpcChannel.ForAddress(_rig.GrpcAddress, new GrpcChannelOptions { HttpHandler = trust.Create() });
        Assert.Equal("blue", await EdgeRig.CheckAsync(channel));
        Assert.Equal([First.Fingerprint], trust.Presented);
        Assert.Contains("Deployer:Edge:Tls:CertificatePath", _rig.Tls.Problem, StringComparison.Ordinal);
        Assert.Contains(_rig.TlsLogs.Entries, e => e.Id.Id == 5012);
    }

    private static Task CallInALoop(GrpcChannel channel, StrongBox<int> calls, ConcurrentQueue<string> failures, CancellationToken stop) =>
        Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await EdgeRig.CheckAsync(channel);
                }
                catch (Exception e) when (e is RpcException or HttpRequestException)
                {
                    failures.Enqueue($"{TimeProvider.System.GetUtcNow():HH:mm:ss.fff} {e.Message}");
                }

                Interlocked.Increment(ref calls.Value);
                // A client calling every few milliseconds, not flat out: the rotation is what is measured.
                await Task.Delay(5, CancellationToken.None);
            }
        }, CancellationToken.None);

    private Task WaitForCallsAsync(StrongBox<int> calls, int more)
    {
        var target = Volatile.Read(ref calls.Value) + more;
        return Probes.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref calls.Value) >= target), TimeSpan.FromSeconds(60), $"{more} more calls through the TLS edge", () => _rig.HaproxyOutput);
    }
}
