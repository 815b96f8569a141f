using System.Globalization;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace StudentPerformance.Predictor.Hosting;

/// <summary>
/// <c>Predictor probe [--address http://127.0.0.1:8000] [--service NAME] [--timeout 3s]</c>: one grpc.health.v1
/// Check. Exit 0 only when the answer is SERVING, 1 for any other answer or failure, 2 for bad arguments.
/// </summary>
public static class ProbeCommand
{
    private const string Usage = "usage: Predictor probe [--address http://127.0.0.1:8000] [--service NAME] [--timeout 3s]";

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (!TryParse(args, out var address, out var service, out var timeout, out var error))
        {
            await Console.Error.WriteLineAsync($"probe: {error}\n{Usage}");
            return 2;
        }

        using var handler = new SocketsHttpHandler { ConnectTimeout = timeout };
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });
        var client = new global::Grpc.Health.V1.Health.HealthClient(channel);
        try
        {
            var deadline = TimeProvider.System.GetUtcNow().UtcDateTime + timeout;
            var reply = await client.CheckAsync(new HealthCheckRequest { Service = service }, deadline: deadline);
            var status = reply.Status switch
            {
                HealthCheckResponse.Types.ServingStatus.Serving => "SERVING",
                HealthCheckResponse.Types.ServingStatus.NotServing => "NOT_SERVING",
                HealthCheckResponse.Types.ServingStatus.ServiceUnknown => "SERVICE_UNKNOWN",
                _ => "UNKNOWN",
            };
            Console.WriteLine(status);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (RpcException ex)
        {
            await Console.Error.WriteLineAsync($"probe: {address}: {ex.StatusCode}: {ex.Status.Detail}");
            return 1;
        }
    }

    internal static bool TryParse(string[] args, out Uri address, out string service, out TimeSpan timeout, out string error)
    {
        address = new Uri("http://127.0.0.1:8000");
        service = "";
        timeout = TimeSpan.FromSeconds(3);
        error = "";
        for (var i = 0; i < args.Length; i++)
        {
            if (i + 1 >= args.Length)
            {
                error = $"'{args[i]}' needs a value";
                return false;
            }

            var value = args[++i];
            switch (args[i - 1])
            {
                case "--address" when Uri.TryCreate(value, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https":
                    address = parsed;
                    break;
                case "--address":
                    error = $"--address '{value}' is not an http:// or https:// URL";
                    return false;
                case "--service":
                    service = value;
                    break;
                case "--timeout" when TryParseDuration(value, out var parsedTimeout) && parsedTimeout > TimeSpan.Zero:
                    timeout = parsedTimeout;
                    break;
                case "--timeout":
                    error = $"--timeout '{value}' is not a positive duration such as 3s, 500ms or 00:00:03";
                    return false;
                default:
                    error = $"unknown option '{args[i - 1]}'";
                    return false;
            }
        }

        return true;
    }

    /// <summary>Accepts <c>500ms</c>, <c>3s</c>, <c>1m</c> or a TimeSpan such as <c>00:00:03</c>.</summary>
    internal static bool TryParseDuration(string text, out TimeSpan duration)
    {
        (string Suffix, double Scale)[] units = [("ms", 1), ("s", 1000), ("m", 60_000)];
        foreach (var (suffix, scale) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(text.AsSpan(0, text.Length - suffix.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                && double.IsFinite(number))
            {
                duration = TimeSpan.FromMilliseconds(number * scale);
                return true;
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration);
    }
}
