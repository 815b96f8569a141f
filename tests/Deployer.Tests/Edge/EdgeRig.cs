using System.Diagnostics;
using System.Runtime.Versioning;
using Deployer.Tests.Support;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Readiness;

namespace Deployer.Tests.Edge;

/// <summary>
/// Two slots (<see cref="SlotServer"/>), the edge's layout on free loopback ports, and the deployer's
/// <see cref="HaproxyEdgeProxy"/> over it. The edge itself is started by the test: Debian's haproxy as a process
/// (<see cref="StartHaproxyAsync"/>) or the container built from Dockerfile.edge.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class EdgeRig : IAsyncDisposable
{
    public const string Haproxy = "/usr/sbin/haproxy";

    private readonly List<string> _output = [];
    private Process? _haproxy;

    private EdgeRig(string directory, EdgeOptions options, EdgeLayout layout, SlotServer blue, SlotServer green)
    {
        Directory = directory;
        Options = options;
        Layout = layout;
        Blue = blue;
        Green = green;
        Proxy = new HaproxyEdgeProxy(Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System, NullLogger<HaproxyEdgeProxy>.Instance);
        Tls = new EdgeTls(Microsoft.Extensions.Options.Options.Create(options), Pins, TlsLogs);
    }

    public string Directory { get; }

    public EdgeOptions Options { get; }

    public EdgeLayout Layout { get; }

    public SlotServer Blue { get; }

    public SlotServer Green { get; }

    public HaproxyEdgeProxy Proxy { get; }

    /// <summary>The deployer's certificate rotation over this edge (used when the rig was given a certificate).</summary>
    public EdgeTls Tls { get; }

    internal ListLogger<EdgeTls> TlsLogs { get; } = new();

    /// <summary>The certificates <see cref="Tls"/> told the deployer's probes to accept.</summary>
    public PinnedCertificates Pins { get; } = new();

    /// <summary>The operator's certificate file (<c>Deployer:Edge:Tls:CertificatePath</c>), when the rig has one.</summary>
    public string CertificatePath => Options.Tls.CertificatePath;

    private string Scheme => Options.Tls.Enabled ? "https" : "http";

    public Uri GrpcAddress => new($"{Scheme}://127.0.0.1:{Layout.Routes.Single(r => r.Protocol == EdgeProtocol.Grpc).Public[0].HostPort}");

    public Uri HttpAddress => new($"{Scheme}://127.0.0.1:{Layout.Routes.Single(r => r.Protocol == EdgeProtocol.Http).Public[0].HostPort}");

    public string ConfigPath => Path.Combine(Options.ConfigDirectory, HaproxyConfig.FileName);

    public string HaproxyOutput
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <param name="configure">Changes to the rig's options.</param>
    /// <param name="certificate">Written to the operator's file under the rig's folder, and named by
    /// <c>Deployer:Edge:Tls:CertificatePath</c>: the edge terminates TLS.</param>
    public static async Task<EdgeRig> StartAsync(Action<EdgeOptions>? configure = null, TestCertificate? certificate = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("sp-edge-").FullName;
        // Readable by the edge container's own user when the folder is mounted.
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        int Free() => LocalRegistry.FreePort();
        var options = new EdgeOptions
        {
            ConfigDirectory = Path.Combine(directory, "edge"),
            // A unix socket of the rig's own, not a loopback port: HAProxy binds with SO_REUSEPORT, so two edges given
            // the same "free" port (picked, then bound seconds later) both start, and the runtime API's commands land on
            // either at random. That made a switch wait for a slot that the other edge had been told to enable.
            RuntimeApi = "unix:" + Path.Combine(directory, "runtime-api.sock"),
            BluePorts = [$"{Free()}:8000", $"{Free()}:8080"],
            GreenPorts = [$"{Free()}:8000", $"{Free()}:8080"],
            CheckInterval = TimeSpan.FromMilliseconds(200),
            DrainTimeout = TimeSpan.FromSeconds(20),
            SwitchTimeout = TimeSpan.FromSeconds(20),
            // The slots are Kestrel servers on the host's loopback, not containers on a network.
            SlotNetwork = "",
        };
        if (certificate is not null)
        {
            var operatorFolder = System.IO.Directory.CreateDirectory(Path.Combine(directory, "operator")).FullName;
            options.Tls.CertificatePath = Path.Combine(operatorFolder, "edge.pem");
            certificate.WriteTo(options.Tls.CertificatePath);
        }

        configure?.Invoke(options);
        var layout = EdgeLayout.Create(
            [new PortBinding("127.0.0.1", Free(), 8000), new PortBinding("127.0.0.1", Free(), 8080)], 8000, options, EdgeSlot.Blue);
        var blue = await StartSlotAsync(options, EdgeSlot.Blue);
        var green = await StartSlotAsync(options, EdgeSlot.Green);
        return new EdgeRig(directory, options, layout, blue, green);
    }

    public SlotServer Server(EdgeSlot slot) => slot == EdgeSlot.Blue ? Blue : Green;

    /// <summary>Writes the layout's file and runs haproxy on it (master-worker, foreground, as in Dockerfile.edge).</summary>
    public async Task StartHaproxyAsync()
    {
        // As the deployer does: the checked copy of the certificate before the file that names it.
        await Tls.PrepareAsync(CancellationToken.None);
        await Proxy.WriteConfigAsync(Layout, CancellationToken.None);
        // -dR: no SO_REUSEPORT, so a public port another process already holds fails the start loudly instead of
        // sharing the port's calls with it.
        var start = new ProcessStartInfo(Haproxy, ["-W", "-db", "-dR", "-f", ConfigPath])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _haproxy = Process.Start(start) ?? throw new InvalidOperationException("could not start haproxy");
        _haproxy.OutputDataReceived += (_, e) => Collect(e.Data);
        _haproxy.ErrorDataReceived += (_, e) => Collect(e.Data);
        _haproxy.BeginOutputReadLine();
        _haproxy.BeginErrorReadLine();
        await WaitForLiveAsync(Layout.Live);
    }

    /// <summary>Waits until the runtime API reports <paramref name="slot"/> as the only live slot.</summary>
    public Task WaitForLiveAsync(EdgeSlot slot, TimeSpan? timeout = null) =>
        Probes.WaitUntilAsync(
            async () => (await Proxy.GetStateAsync(CancellationToken.None))?.Live == slot,
            timeout ?? TimeSpan.FromSeconds(30),
            $"the edge to route to slot {slot}",
            () => HaproxyOutput);

    /// <summary>Health/Check through the edge on <paramref name="channel"/>; returns the slot that answered.</summary>
    public static async Task<string> CheckAsync(GrpcChannel channel)
    {
        using var call = new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(5));
        var reply = await call.ResponseAsync;
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
        var headers = await call.ResponseHeadersAsync;
        return headers.GetValue("x-slot") ?? "";
    }

    public async ValueTask DisposeAsync()
    {
        if (_haproxy is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        await Blue.DisposeAsync();
        await Green.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static Task<SlotServer> StartSlotAsync(EdgeOptions options, EdgeSlot slot)
    {
        var ports = EdgeLayout.SlotBindings(options, slot).ToDictionary(b => b.ContainerPort, b => b.HostPort);
        return SlotServer.StartAsync(slot, ports[8000], ports[8080]);
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }
}
