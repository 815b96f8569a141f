using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StudentPerformance.Deployer.Edge;

/// <summary>
/// Renders the edge's whole HAProxy configuration from an <see cref="EdgeLayout"/>, and writes it atomically. The file
/// always names the live slot: the runtime API's state is lost when HAProxy restarts, and a restarted edge must route
/// to the live slot from its first request. Every other slot server starts <c>disabled</c> (maintenance).
/// </summary>
public static class HaproxyConfig
{
    /// <summary>Where the edge container mounts <see cref="EdgeOptions.ConfigDirectory"/> (Dockerfile.edge).</summary>
    public const string ContainerConfigDirectory = "/etc/haproxy-edge";

    public const string FileName = "haproxy.cfg";

    private const string LiveSlotMarker = "# live-slot: ";

    public static string Render(EdgeLayout layout, EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(options);
        var text = new StringBuilder();
        void Line(string line = "") => text.Append(line).Append('\n');

        Line("# Written by the deployer (docs/edge.md); every switch rewrites it. Edits here are lost.");
        Line(LiveSlotMarker + layout.Live.ServerName());
        Line("global");
        Line($"    stats socket {RuntimeApiBind(options.RuntimeApi)} level admin");
        // 10 by default: a few idle connections would wedge the deployer's switches (docs/security.md).
        Line($"    stats maxconn {RuntimeApiSocket.MaxConnections}");
        Line("    stats timeout 2m");
        // Bounds a soft stop (docker stop sends SIGUSR1) and an old worker after a reload.
        Line($"    hard-stop-after {Ms(options.DrainTimeout)}");
        // Server UP/DOWN transitions only; request logs would cost throughput and say nothing the predictor's don't.
        Line("    log stdout format raw local0 notice");
        if (options.Tls.Enabled)
        {
            Line("    ssl-default-bind-options ssl-min-ver TLSv1.2");
        }
        Line();
        Line("defaults");
        Line("    mode http");
        Line("    log global");
        Line("    option dontlognull");
        // No `option forwardfor`: the predictor reads no X-Forwarded-For, and adding it is per-request work (docs/edge.md).
        // A failed connect (a slot that just died) is retried, and the last retry goes to the other slot.
        Line("    retries 2");
        Line("    option redispatch 1");
        // A call whose backend connection closed before any answer (the slot stopping, or a connection the switch
        // retired) is sent again, to the other slot on the last try. Safe because every predictor call is a pure
        // function of its request; requests larger than one buffer (16 kB: big PredictBatch calls) are never retried.
        Line("    retry-on conn-failure empty-response");
        Line($"    timeout connect {Ms(options.ConnectTimeout)}");
        Line($"    timeout client {Ms(options.IdleTimeout)}");
        Line($"    timeout server {Ms(options.IdleTimeout)}");
        Line($"    timeout http-keep-alive {Ms(options.IdleTimeout)}");
        Line("    timeout http-request 10s");
        Line("    timeout queue 5s");
        Line($"    timeout check {Ms(options.ConnectTimeout)}");
        foreach (var route in layout.Routes)
        {
            Line();
            Line($"frontend {route.Frontend}");
            foreach (var binding in route.Public)
            {
                Line($"    bind {Address(binding.HostIp, binding.HostPort)}{Tls(route, options)}{(route.Protocol == EdgeProtocol.Grpc ? " proto h2" : "")}");
            }

            if (options.Tls.Enabled && route.Protocol == EdgeProtocol.Grpc)
            {
                // A TLS client's :scheme is https, and HAProxy passes it on to the slot, which speaks h2c: Kestrel resets
                // such a stream (the scheme must match its transport), which the client sees as REFUSED_STREAM. So the
                // slot is asked in its own scheme, http (an origin-form URI alone keeps https). HTTP/1.1 slots get an
                // origin-form request line anyway.
                Line("    http-request set-uri http://%[req.hdr(host)]%[pathq]");
            }

            Line($"    default_backend {route.Backend}");
            Line();
            Line($"backend {route.Backend}");
            Line("    option httpchk");
            Line($"    http-check send meth GET uri {options.ReadyPath} ver HTTP/1.1 hdr Host localhost");
            Line("    http-check expect status 200");
            foreach (var slot in new[] { EdgeSlot.Blue, EdgeSlot.Green })
            {
                // A live slot that refuses a connection is marked down at once, not after two failed checks: while a
                // new slot is gated or baked, the old one's standby (below) then takes the call on its retry.
                Line(Server(slot.ServerName(), route, layout, slot, options) + " observe layer4 error-limit 1 on-error mark-down" + (slot == layout.Live ? "" : " disabled"));
            }

            foreach (var slot in new[] { EdgeSlot.Blue, EdgeSlot.Green })
            {
                // The same slot as a backup server: only used when no live server is up. The old slot's standby is
                // enabled for the gate and the bake, so a new slot that dies costs no call; between rollouts the live
                // slot's own, so a live server marked down by one refused connection still has a backup (docs/edge.md).
                // Written to the file too: an edge restarted during a bake comes back with it.
                Line(Server(slot.StandbyName(), route, layout, slot, options) + " backup" + (slot == layout.Standby ? "" : " disabled"));
            }
        }

        if (options.MetricsPort != 0)
        {
            // Optional (Deployer:Edge:MetricsPort): HAProxy's built-in exporter, per-frontend, -backend and -server
            // (slot) figures, on the host's loopback only; a scrape costs the edge one HTTP request.
            Line();
            Line("frontend metrics");
            Line($"    bind 127.0.0.1:{options.MetricsPort.ToString(CultureInfo.InvariantCulture)}");
            Line("    no log");
            Line("    http-request use-service prometheus-exporter if { path /metrics }");
            Line("    http-request deny");
        }

        return text.ToString();
    }

    /// <summary>
    /// TLS on a public bind when <c>Deployer:Edge:Tls:CertificatePath</c> is set: the checked copy (<see cref="EdgeTls"/>);
    /// ALPN <c>h2</c> alone for gRPC, <c>h2,http/1.1</c> for the HTTP port so that browsers and curl both work.
    /// </summary>
    private static string Tls(EdgeRoute route, EdgeOptions options) => !options.Tls.Enabled ? ""
        : $" ssl crt {EdgeTls.CopyPath(options)} alpn {(route.Protocol == EdgeProtocol.Grpc ? "h2" : "h2,http/1.1")}";

    private static string Server(string name, EdgeRoute route, EdgeLayout layout, EdgeSlot slot, EdgeOptions options) =>
        new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"    server {name} {layout.ServerAddress(route, slot)}")
            .Append(route.Protocol == EdgeProtocol.Grpc ? " proto h2" : "")
            // The check speaks HTTP/1.1 to the slot's ready port, whatever the route's protocol.
            .Append(CultureInfo.InvariantCulture, $" check check-proto h1 port {layout.CheckPort(slot)} inter {Ms(options.CheckInterval)} fall 2 rise 1")
            .ToString();

    /// <summary>The live slot a file written by <see cref="Render"/> names, or null when the file is missing or foreign.</summary>
    public static EdgeSlot? ReadLiveSlot(string path) => File.Exists(path) ? ParseLiveSlot(File.ReadAllText(path)) : null;

    /// <summary>The live slot a configuration rendered by <see cref="Render"/> names, or null when it names none.</summary>
    public static EdgeSlot? ParseLiveSlot(string? content)
    {
        if (content is null)
        {
            return null;
        }

        foreach (var line in content.Split('\n').Take(5))
        {
            if (line.StartsWith(LiveSlotMarker, StringComparison.Ordinal) && EdgeSlots.TryParse(line[LiveSlotMarker.Length..], out var slot))
            {
                return slot;
            }
        }

        return null;
    }

    /// <summary>
    /// Writes <paramref name="content"/> to <c>directory/haproxy.cfg</c> by rename, so that an edge (re)starting at any
    /// moment reads either the old file or the new one, never a torn one. The file is world-readable: the edge runs as
    /// its own user.
    /// </summary>
    public static async Task<string> WriteAsync(string directory, string content, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(content);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        var temporary = Path.Combine(directory, $".{FileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            }

            var stream = new FileStream(temporary, fileOptions);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(content), cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            return path;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The <c>stats socket</c> address for <see cref="EdgeOptions.RuntimeApi"/>.</summary>
    internal static string RuntimeApiBind(string runtimeApi) => runtimeApi.StartsWith("unix:", StringComparison.Ordinal)
        ? string.Create(CultureInfo.InvariantCulture, $"{runtimeApi["unix:".Length..]} mode 660 gid {RuntimeApiSocket.DeployerGroupId()}")
        : runtimeApi.StartsWith('[') ? "ipv6@" + runtimeApi : "ipv4@" + runtimeApi;

    private static string Address(string ip, int port) =>
        IPAddress.Parse(ip).AddressFamily == AddressFamily.InterNetworkV6
            ? string.Create(CultureInfo.InvariantCulture, $"ipv6@[{ip}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"ipv4@{ip}:{port}");

    private static string Ms(TimeSpan value) => string.Create(CultureInfo.InvariantCulture, $"{(long)value.TotalMilliseconds}ms");
}
