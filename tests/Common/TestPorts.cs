using System.Net;
using System.Net.Sockets;

namespace StudentPerformance.TestSupport;

/// <summary>
/// Loopback ports for the servers and containers the tests start. They are drawn at random from below the kernel's
/// ephemeral range (net.ipv4.ip_local_port_range), not from it: a port the kernel hands out for "port 0" is also the
/// kind it hands to every outgoing connection, so between the test picking it and a container or server binding it,
/// any client on the machine (another test process, a docker pull) could take it. Each port is handed out once per
/// process and checked bindable.
/// </summary>
public static class TestPorts
{
    private const int Lowest = 10_000;
    private static readonly Lock Gate = new();
    private static readonly HashSet<int> Given = [];
    private static readonly (int Low, int High) Range = ChooseRange();

    /// <summary>A loopback TCP port nothing listens on, not handed out before in this process.</summary>
    public static int Free()
    {
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var port = Random.Shared.Next(Range.Low, Range.High);
            lock (Gate)
            {
                if (!Given.Add(port))
                {
                    continue;
                }
            }

            if (Bindable(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free loopback port in {Range.Low}-{Range.High - 1} after 500 tries");
    }

    private static bool Bindable(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>[low, high): below the ephemeral range when there is room for 2,000 ports there, else above it.</summary>
    private static (int Low, int High) ChooseRange()
    {
        var (ephemeralLow, ephemeralHigh) = (32_768, 60_999);
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            (ephemeralLow, ephemeralHigh) = (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // Not Linux, or not readable: the kernel's default range.
        }

        return ephemeralLow - Lowest >= 2_000 ? (Lowest, ephemeralLow) : (ephemeralHigh + 1, 65_536);
    }
}
