using System.Net;
using System.Net.Sockets;
using StudentPerformance.Deployer.Containers;

namespace StudentPerformance.Deployer.Edge;

/// <summary>The two predictor slots behind the edge.</summary>
public enum EdgeSlot
{
    Blue,
    Green,
}

public static class EdgeSlots
{
    public static EdgeSlot Other(this EdgeSlot slot) => slot == EdgeSlot.Blue ? EdgeSlot.Green : EdgeSlot.Blue;

    /// <summary>The slot's server name in every edge backend: <c>blue</c> or <c>green</c>.</summary>
    public static string ServerName(this EdgeSlot slot) => slot == EdgeSlot.Blue ? "blue" : "green";

    /// <summary>The slot's backup server in every edge backend: <c>blue-standby</c> or <c>green-standby</c>.</summary>
    public static string StandbyName(this EdgeSlot slot) => slot.ServerName() + StandbySuffix;

    public const string StandbySuffix = "-standby";

    public static bool TryParse(string? text, out EdgeSlot slot)
    {
        slot = EdgeSlot.Blue;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "blue":
                return true;
            case "green":
                slot = EdgeSlot.Green;
                return true;
            default:
                return false;
        }
    }
}

/// <summary>How the edge speaks to clients and slots on one port.</summary>
public enum EdgeProtocol
{
    /// <summary>gRPC: HTTP/2 cleartext with prior knowledge on both sides.</summary>
    Grpc,

    /// <summary>HTTP/1.1 (the predictor's front door).</summary>
    Http,
}

/// <summary>
/// One proxied container port: the public addresses the edge binds for it, and the loopback port each slot
/// publishes it on.
/// </summary>
public sealed record EdgeRoute(int ContainerPort, EdgeProtocol Protocol, IReadOnlyList<PortBinding> Public, int BluePort, int GreenPort)
{
    public string Frontend => $"fe_{ContainerPort}";

    public string Backend => $"be_{ContainerPort}";

    public int SlotPort(EdgeSlot slot) => slot == EdgeSlot.Blue ? BluePort : GreenPort;
}

/// <summary>
/// The slots' own network (<c>Deployer:Edge:SlotNetwork</c>): each slot sits at a fixed address on it, which the edge
/// (host networking) reaches directly, without docker's userland proxy.
/// </summary>
public sealed record EdgeSlotNetwork(string Name, string Subnet, IPAddress BlueAddress, IPAddress GreenAddress)
{
    public IPAddress Address(EdgeSlot slot) => slot == EdgeSlot.Blue ? BlueAddress : GreenAddress;

    /// <summary>The container's attachment: this network, at the slot's address.</summary>
    public ContainerNetwork For(EdgeSlot slot) => new(Name, Subnet, Address(slot).ToString());

    /// <summary>
    /// The network of <paramref name="options"/>, or null when <c>Deployer:Edge:SlotNetwork</c> is empty. Throws
    /// <see cref="ArgumentException"/> naming <c>Deployer:Edge:SlotSubnet</c> when it is not an IPv4 /29 or larger.
    /// </summary>
    public static EdgeSlotNetwork? Create(EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.SlotNetwork))
        {
            return null;
        }

        if (!IPNetwork.TryParse(options.SlotSubnet, out var subnet) || subnet.BaseAddress.AddressFamily != AddressFamily.InterNetwork || subnet.PrefixLength > 29
            || subnet.ToString() != options.SlotSubnet)
        {
            throw new ArgumentException($"Deployer:Edge:SlotSubnet '{options.SlotSubnet}' must be an IPv4 network of at least 8 addresses written as its first address and prefix, such as 10.213.47.0/29 (Deployer:Edge:SlotNetwork is '{options.SlotNetwork}').", nameof(options));
        }

        var first = subnet.BaseAddress.GetAddressBytes();
        IPAddress Nth(int n)
        {
            var bytes = (byte[])first.Clone();
            bytes[3] += (byte)n;
            return new IPAddress(bytes);
        }

        // .1 is the gateway docker gives the bridge itself.
        return new EdgeSlotNetwork(options.SlotNetwork, subnet.ToString(), Nth(2), Nth(3));
    }
}

/// <summary>Everything the edge's configuration says: the routes, where each slot is checked, and the live slot.</summary>
public sealed record EdgeLayout(IReadOnlyList<EdgeRoute> Routes, int BlueReadyPort, int GreenReadyPort, EdgeSlot Live)
{
    /// <summary>Slots publish their ports here, on the host's loopback only.</summary>
    public const string SlotHost = "127.0.0.1";

    /// <summary>
    /// Where the edge reaches the slots: their addresses on this network (container ports), or, when null, their
    /// loopback ports on <see cref="SlotHost"/>.
    /// </summary>
    public EdgeSlotNetwork? Network { get; init; }

    /// <summary>The container port the edge's checks ask for readiness, when it reaches slots on <see cref="Network"/>.</summary>
    public int ReadyContainerPort { get; init; }

    public int ReadyPort(EdgeSlot slot) => slot == EdgeSlot.Blue ? BlueReadyPort : GreenReadyPort;

    /// <summary>The <c>address:port</c> the edge sends a route's calls to in <paramref name="slot"/>.</summary>
    public string ServerAddress(EdgeRoute route, EdgeSlot slot)
    {
        ArgumentNullException.ThrowIfNull(route);
        return Network is { } network
            ? $"{network.Address(slot)}:{route.ContainerPort}"
            : $"{SlotHost}:{route.SlotPort(slot)}";
    }

    /// <summary>The port the edge checks <paramref name="slot"/>'s readiness on, at <see cref="ServerAddress"/>'s host.</summary>
    public int CheckPort(EdgeSlot slot) => Network is null ? ReadyPort(slot) : ReadyContainerPort;

    public EdgeLayout WithLive(EdgeSlot live) => this with { Live = live };

    /// <summary>
    /// The layout for the public bindings (<c>Deployer:Container:Ports</c>) and the slot ports in
    /// <paramref name="options"/>. Throws <see cref="ArgumentException"/> naming the key when a public container port
    /// has no slot port, or when the ready port is missing.
    /// </summary>
    public static EdgeLayout Create(IReadOnlyList<PortBinding> publicPorts, int grpcContainerPort, EdgeOptions options, EdgeSlot live)
    {
        ArgumentNullException.ThrowIfNull(publicPorts);
        ArgumentNullException.ThrowIfNull(options);
        var blue = SlotPorts(options.EffectiveBluePorts, "Deployer:Edge:BluePorts");
        var green = SlotPorts(options.EffectiveGreenPorts, "Deployer:Edge:GreenPorts");
        var routes = new List<EdgeRoute>();
        foreach (var group in publicPorts.GroupBy(p => p.ContainerPort).OrderBy(g => g.Key))
        {
            var port = group.Key;
            if (!blue.TryGetValue(port, out var bluePort))
            {
                throw new ArgumentException($"Deployer:Edge:BluePorts has no loopback port for container port {port}, which Deployer:Container:Ports publishes.", nameof(options));
            }

            if (!green.TryGetValue(port, out var greenPort))
            {
                throw new ArgumentException($"Deployer:Edge:GreenPorts has no loopback port for container port {port}, which Deployer:Container:Ports publishes.", nameof(options));
            }

            routes.Add(new EdgeRoute(port, port == grpcContainerPort ? EdgeProtocol.Grpc : EdgeProtocol.Http, [.. group], bluePort, greenPort));
        }

        if (routes.Count == 0)
        {
            throw new ArgumentException("Deployer:Container:Ports publishes nothing for the edge to proxy.", nameof(publicPorts));
        }

        if (!blue.TryGetValue(options.ReadyContainerPort, out var blueReady) || !green.TryGetValue(options.ReadyContainerPort, out var greenReady))
        {
            throw new ArgumentException($"Deployer:Edge:BluePorts and Deployer:Edge:GreenPorts must both publish Deployer:Edge:ReadyContainerPort ({options.ReadyContainerPort}).", nameof(options));
        }

        var used = blue.Values.Concat(green.Values).ToList();
        if (used.Distinct().Count() != used.Count)
        {
            throw new ArgumentException("Deployer:Edge:BluePorts and Deployer:Edge:GreenPorts must not share a host port.", nameof(options));
        }

        return new EdgeLayout(routes, blueReady, greenReady, live)
        {
            Network = EdgeSlotNetwork.Create(options),
            ReadyContainerPort = options.ReadyContainerPort,
        };
    }

    /// <summary>The loopback bindings a slot's container publishes (container port to host port on 127.0.0.1).</summary>
    public static IReadOnlyList<PortBinding> SlotBindings(EdgeOptions options, EdgeSlot slot)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (texts, key) = slot == EdgeSlot.Blue ? (options.EffectiveBluePorts, "Deployer:Edge:BluePorts") : (options.EffectiveGreenPorts, "Deployer:Edge:GreenPorts");
        return [.. SlotPorts(texts, key).Select(p => new PortBinding(SlotHost, p.Value, p.Key))];
    }

    private static Dictionary<int, int> SlotPorts(IReadOnlyList<string> texts, string key)
    {
        var ports = new Dictionary<int, int>();
        foreach (var text in texts)
        {
            if (!PortBinding.TryParse(text, SlotHost, out var binding) || binding!.HostPort == 0 || binding.HostIp != SlotHost)
            {
                throw new ArgumentException($"{key} entry '{text}' must be hostPort:containerPort with a fixed host port (the slots listen on {SlotHost}).", nameof(texts));
            }

            if (!ports.TryAdd(binding.ContainerPort, binding.HostPort))
            {
                throw new ArgumentException($"{key} names container port {binding.ContainerPort} twice.", nameof(texts));
            }
        }

        return ports;
    }
}
