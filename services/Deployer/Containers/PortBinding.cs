using System.Globalization;
using System.Net;

namespace StudentPerformance.Deployer.Containers;

/// <summary>One published TCP port: <c>HostIp:HostPort -> ContainerPort</c>.</summary>
public sealed record PortBinding(string HostIp, int HostPort, int ContainerPort)
{
    public const string Default = "8000:8000";

    /// <summary>
    /// Parses <c>host:container</c> or <c>ip:host:container</c> (an optional <c>/tcp</c> suffix is accepted).
    /// Host port 0 asks the engine for an ephemeral port.
    /// </summary>
    public static bool TryParse(string? text, string defaultHostIp, out PortBinding? binding)
    {
        binding = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var value = text.Trim();
        if (value.EndsWith("/tcp", StringComparison.OrdinalIgnoreCase))
        {
            value = value[..^4];
        }

        var lastColon = value.LastIndexOf(':');
        if (lastColon <= 0)
        {
            return false;
        }

        var containerText = value[(lastColon + 1)..];
        var rest = value[..lastColon];
        var hostColon = rest.LastIndexOf(':');
        var hostIp = defaultHostIp;
        var hostText = rest;
        if (hostColon >= 0)
        {
            hostIp = rest[..hostColon].Trim('[', ']');
            hostText = rest[(hostColon + 1)..];
        }

        if (!IPAddress.TryParse(hostIp, out _)
            || !int.TryParse(hostText, NumberStyles.None, CultureInfo.InvariantCulture, out var hostPort)
            || !int.TryParse(containerText, NumberStyles.None, CultureInfo.InvariantCulture, out var containerPort)
            || hostPort is < 0 or > 65535
            || containerPort is < 1 or > 65535)
        {
            return false;
        }

        binding = new PortBinding(hostIp, hostPort, containerPort);
        return true;
    }

    public override string ToString() => $"{HostIp}:{HostPort}:{ContainerPort}";
}
