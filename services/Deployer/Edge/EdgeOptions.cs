using System.ComponentModel.DataAnnotations;

namespace StudentPerformance.Deployer.Edge;

/// <summary>
/// The edge proxy (HAProxy) in front of the blue and green predictor slots, section <c>Deployer:Edge</c>
/// (docs/edge.md). The public ports are <c>Deployer:Container:Ports</c>; the edge binds them and each slot publishes
/// its own ports on 127.0.0.1 only.
/// </summary>
public sealed class EdgeOptions
{
    public const string SectionName = "Deployer:Edge";

    /// <summary>The edge image, built from Dockerfile.edge.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Deployer:Edge:Image is required.")]
    public string Image { get; set; } = "student-performance-edge:latest";

    /// <summary>Name of the edge container.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Deployer:Edge:Name is required.")]
    [RegularExpression("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", ErrorMessage = "Deployer:Edge:Name must be a valid container name.")]
    public string Name { get; set; } = "predictor-edge";

    /// <summary>
    /// Host folder the deployer writes <c>haproxy.cfg</c> into; the edge container mounts it read-only at
    /// <see cref="HaproxyConfig.ContainerConfigDirectory"/>.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Deployer:Edge:ConfigDirectory is required.")]
    public string ConfigDirectory { get; set; } = "/var/lib/student-performance-deployer/edge";

    /// <summary>
    /// HAProxy's runtime API (its stats socket at admin level): by default <c>unix:/path</c>, a socket in a folder only
    /// the deployer's user and group can enter (<see cref="RuntimeApiSocket"/>); or, only when set explicitly,
    /// <c>127.0.0.1:&lt;port&gt;</c> on the host's loopback, which every local user can reach. Never a public address:
    /// it can stop all traffic.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Deployer:Edge:RuntimeApi is required.")]
    [RegularExpression(@"^(unix:/.+|127\.0\.0\.1:\d{1,5}|\[::1\]:\d{1,5})$", ErrorMessage = "Deployer:Edge:RuntimeApi must be 127.0.0.1:<port>, [::1]:<port> or unix:/<path>.")]
    public string RuntimeApi { get; set; } = "unix:/var/lib/student-performance-deployer/edge-run/admin.sock";

    /// <summary>
    /// Loopback ports of the blue slot, <c>hostPort:containerPort</c>, one per container port the edge proxies; empty
    /// means <see cref="DefaultBluePorts"/>. (A list default would be appended to by configuration, not replaced.)
    /// </summary>
    public IList<string> BluePorts { get; set; } = [];

    /// <summary>Loopback ports of the green slot, as <see cref="BluePorts"/>; empty means <see cref="DefaultGreenPorts"/>.</summary>
    public IList<string> GreenPorts { get; set; } = [];

    public static IReadOnlyList<string> DefaultBluePorts { get; } = ["18000:8000", "18080:8080"];

    public static IReadOnlyList<string> DefaultGreenPorts { get; } = ["28000:8000", "28080:8080"];

    /// <summary>The blue slot's ports in effect.</summary>
    public IReadOnlyList<string> EffectiveBluePorts => BluePorts.Count == 0 ? DefaultBluePorts : [.. BluePorts];

    /// <summary>The green slot's ports in effect.</summary>
    public IReadOnlyList<string> EffectiveGreenPorts => GreenPorts.Count == 0 ? DefaultGreenPorts : [.. GreenPorts];

    /// <summary>
    /// The user-defined bridge network the deployer creates for the slots (when missing) and attaches each slot to at a
    /// fixed address in <see cref="SlotSubnet"/>; the edge reaches the slots there, not through their published
    /// loopback ports (docker's userland proxy roughly halves the edge's throughput, docs/edge.md). Empty: the edge
    /// uses the loopback ports, as before. The loopback ports stay published either way: the deployer probes them.
    /// </summary>
    [RegularExpression("^([a-zA-Z0-9][a-zA-Z0-9_.-]*)?$", ErrorMessage = "Deployer:Edge:SlotNetwork must be empty or a valid network name.")]
    public string SlotNetwork { get; set; } = "predictor-slots";

    /// <summary>
    /// IPv4 subnet of <see cref="SlotNetwork"/>, at least a /29: the gateway takes the first address, blue the second
    /// and green the third. Pick one that no other network on the host (or the LAN) uses.
    /// </summary>
    public string SlotSubnet { get; set; } = "10.213.47.0/29";

    /// <summary>Container port of the slot's HTTP endpoint whose <c>/readyz</c> the edge checks (the predictor's 8080).</summary>
    [Range(1, 65535, ErrorMessage = "Deployer:Edge:ReadyContainerPort must be between 1 and 65535.")]
    public int ReadyContainerPort { get; set; } = 8080;

    /// <summary>
    /// Loopback port of HAProxy's built-in Prometheus exporter (<c>GET /metrics</c>: per-slot sessions, responses and
    /// check states); 0, the default, leaves it out of the configuration.
    /// </summary>
    [Range(0, 65535, ErrorMessage = "Deployer:Edge:MetricsPort must be 0 (off) or a port between 1 and 65535.")]
    public int MetricsPort { get; set; }

    /// <summary>Path of the readiness check on <see cref="ReadyContainerPort"/>; 200 means ready.</summary>
    [RegularExpression("^/[A-Za-z0-9/_.-]*$", ErrorMessage = "Deployer:Edge:ReadyPath must be an absolute path of URL-safe characters.")]
    public string ReadyPath { get; set; } = "/readyz";

    /// <summary>Time between the edge's checks of each slot.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Deployer:Edge:CheckInterval must be between 00:00:00.100 and 00:01:00.")]
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest wait for the old slot's in-flight calls after a switch. Calls still running then are cut, and the edge
    /// process started before a soft stop finishes by then too (<c>hard-stop-after</c>).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Deployer:Edge:DrainTimeout must be between 00:00:01 and 01:00:00.")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a client or server connection may stay silent, including a gRPC stream between messages. Long, because
    /// gRPC clients keep channels open; idle clients get a GOAWAY then and reconnect.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Deployer:Edge:IdleTimeout must be between 00:00:01 and 1.00:00:00.")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Timeout of one TCP connect to a slot; a failed connect is retried on the other slot.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Deployer:Edge:ConnectTimeout must be between 00:00:00.100 and 00:01:00.")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a switch waits for the new slot to be UP in the edge's own checks before it gives up.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Deployer:Edge:SwitchTimeout must be between 00:00:01 and 00:10:00.")]
    public TimeSpan SwitchTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Timeout of one runtime API command.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Deployer:Edge:RuntimeApiTimeout must be between 00:00:00.100 and 00:01:00.")]
    public TimeSpan RuntimeApiTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long one runtime API command is sent again while the edge refuses the connection or does not answer (an
    /// edge that restarts, or its socket's connection limit); after that the rollout step fails, not the image's fault.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Deployer:Edge:RuntimeApiWait must be between 00:00:00 and 00:10:00.")]
    public TimeSpan RuntimeApiWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>TLS on the public ports (<c>Deployer:Edge:Tls</c>); off while its certificate path is empty.</summary>
    public EdgeTlsOptions Tls { get; set; } = new();
}

/// <summary>
/// Section <c>Deployer:Edge:Tls</c>: the edge terminates TLS on every public port (ALPN <c>h2</c> on the gRPC port,
/// <c>h2,http/1.1</c> on the HTTP port) with one certificate, which it is given as a copy the deployer validated
/// (<see cref="EdgeTls"/>, docs/edge.md).
/// </summary>
public sealed class EdgeTlsOptions
{
    public const string SectionName = EdgeOptions.SectionName + ":Tls";

    /// <summary>
    /// A PEM file with the certificate, its chain and its unencrypted private key (the form HAProxy's <c>crt</c> takes).
    /// Empty (the default): the public ports are plaintext. Replacing the file rotates the certificate at the
    /// deployer's next tick without dropping a connection; a bad replacement is refused and the old one keeps serving.
    /// </summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>True when a certificate is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(CertificatePath);
}
