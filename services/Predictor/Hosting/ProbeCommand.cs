using System.CommandLine;
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
    public static Task<int> RunAsync(string[] args) => RunAsync(args, TimeProvider.System, Console.Out, Console.Error);

    public static Task<int> RunAsync(string[] args, TimeProvider time, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(time);
        return CommandLineRunner.InvokeAsync(Create(time), args, stdout, stderr);
    }

    /// <summary>The command: options, validation and the action.</summary>
    public static Command Create(TimeProvider time)
    {
        var address = new Option<Uri>("--address")
        {
            Description = "The server's gRPC address (http:// or https://).",
            HelpName = "url",
            DefaultValueFactory = _ => new Uri("http://127.0.0.1:8000"),
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                {
                    return uri;
                }

                result.AddError($"--address '{text}' is not an http:// or https:// URL");
                return null;
            },
        };
        var service = new Option<string>("--service")
        {
            Description = "The service name to ask about; empty means the whole server.",
            HelpName = "name",
            DefaultValueFactory = _ => "",
        };
        var timeout = new Option<TimeSpan>("--timeout")
        {
            Description = "How long to wait for the answer: 500ms, 3s, 1m or 00:00:03.",
            HelpName = "duration",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(3),
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (TryParseDuration(text, out var duration) && duration > TimeSpan.Zero)
                {
                    return duration;
                }

                result.AddError($"--timeout '{text}' is not a positive duration such as 3s, 500ms or 00:00:03");
                return default;
            },
        };

        var command = new Command("probe", "Asks a running predictor for its gRPC health; exits 0 only for SERVING.")
        {
            address, service, timeout,
        };
        command.SetAction((parse, cancellationToken) => ProbeAsync(
            parse.GetRequiredValue(address),
            parse.GetValue(service) ?? "",
            parse.GetValue(timeout),
            time,
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }

    private static async Task<int> ProbeAsync(
        Uri address, string service, TimeSpan timeout, TimeProvider time, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { ConnectTimeout = timeout };
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });
        var client = new global::Grpc.Health.V1.Health.HealthClient(channel);
        try
        {
            var deadline = time.GetUtcNow().UtcDateTime + timeout;
            var reply = await client.CheckAsync(new HealthCheckRequest { Service = service }, deadline: deadline, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            var status = reply.Status switch
            {
                HealthCheckResponse.Types.ServingStatus.Serving => "SERVING",
                HealthCheckResponse.Types.ServingStatus.NotServing => "NOT_SERVING",
                HealthCheckResponse.Types.ServingStatus.ServiceUnknown => "SERVICE_UNKNOWN",
                _ => "UNKNOWN",
            };
            await stdout.WriteLineAsync(status).ConfigureAwait(false);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (RpcException ex)
        {
            await stderr.WriteLineAsync($"probe: {address}: {ex.StatusCode}: {ex.Status.Detail}").ConfigureAwait(false);
            return 1;
        }
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
