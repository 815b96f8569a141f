using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using StudentPerformance.V1;

namespace StudentPerformance.Deployer.Readiness;

/// <summary>Asks a predictor, through a published host port, whether it serves and answers sensibly.</summary>
public interface IPredictorProbe
{
    /// <summary>True when grpc.health.v1 Check answers SERVING within <paramref name="timeout"/>.</summary>
    Task<bool> IsServingAsync(Uri address, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Sends the golden Predict request; the verdict says whether the answer is a number in range.</summary>
    Task<GoldenVerdict> CheckGoldenAsync(Uri address, TimeSpan timeout, CancellationToken cancellationToken);
}

public sealed record GoldenVerdict(bool Passed, double? Score, string Detail);

internal sealed class GrpcPredictorProbe : IPredictorProbe
{
    private readonly PreflightOptions _preflight;
    private readonly PredictRequest _golden;
    private readonly TimeProvider _time;
    private readonly PinnedCertificates _pins;

    public GrpcPredictorProbe(IOptions<PreflightOptions> options, TimeProvider time, PinnedCertificates pins)
    {
        _time = time;
        _pins = pins;
        _preflight = options.Value;
        _golden = JsonParser.Default.Parse<PredictRequest>(_preflight.GoldenRequest);
    }

    public async Task<bool> IsServingAsync(Uri address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var channel = CreateChannel(address, timeout);
        try
        {
            var reply = await new Health.HealthClient(channel)
                .CheckAsync(new HealthCheckRequest(), deadline: Deadline(timeout), cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
        }
        catch (RpcException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public async Task<GoldenVerdict> CheckGoldenAsync(Uri address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var channel = CreateChannel(address, timeout);
        try
        {
            var reply = await new Predictor.PredictorClient(channel)
                .PredictAsync(_golden, deadline: Deadline(timeout), cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            return GoldenCheck.Judge(reply.MathScore, _preflight.MinScore, _preflight.MaxScore);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new GoldenVerdict(false, null, $"golden Predict failed: {ex.StatusCode} {ex.Status.Detail}");
        }
    }

    // gRPC deadlines are absolute UTC.
    private DateTime Deadline(TimeSpan timeout) => _time.GetUtcNow().UtcDateTime + timeout;

    private GrpcChannel CreateChannel(Uri address, TimeSpan timeout) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = timeout,
                PooledConnectionLifetime = TimeSpan.Zero,
                // https only through a TLS edge: its certificate is pinned, not validated by name (the probe dials 127.0.0.1).
                SslOptions = new System.Net.Security.SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, certificate, _, _) => _pins.Accepts(certificate) },
            },
            DisposeHttpClient = true,
        });
}

/// <summary>The pure part of the golden check.</summary>
public static class GoldenCheck
{
    public static GoldenVerdict Judge(double score, double min, double max) =>
        double.IsFinite(score) && score >= min && score <= max
            ? new GoldenVerdict(true, score, $"golden math_score {score:0.###} in [{min}, {max}]")
            : new GoldenVerdict(false, score, $"golden math_score {score} is not a number in [{min}, {max}]");
}
