using Grpc.Health.V1;
using Grpc.Net.Client;
using StudentPerformance.V1;

namespace StudentPerformance.Delivery.Tests.Docker;

/// <summary>A gRPC connection to a predictor on 127.0.0.1 (plain HTTP/2), with the calls the tests make.</summary>
public sealed class PredictorEndpoint : IDisposable
{
    private readonly GrpcChannel _channel;

    public PredictorEndpoint(int port)
    {
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        Health = new Health.HealthClient(_channel);
        Predictor = new V1.Predictor.PredictorClient(_channel);
    }

    public Health.HealthClient Health { get; }

    public V1.Predictor.PredictorClient Predictor { get; }

    /// <summary>A valid student from the sample data's categories.</summary>
    public static Student SampleStudent() => new()
    {
        Gender = "female",
        RaceEthnicity = "group B",
        ParentalLevelOfEducation = "bachelor's degree",
        Lunch = "standard",
        TestPreparationCourse = "none",
        ReadingScore = 72,
        WritingScore = 74,
    };

    /// <summary>True when the overall health status (service "") is SERVING.</summary>
    public async Task<bool> IsServingAsync()
    {
        var reply = await Health.CheckAsync(new HealthCheckRequest(), deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(2));
        return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
    }

    /// <summary>Waits until the predictor reports SERVING.</summary>
    public Task WaitUntilServingAsync(TimeSpan timeout, Func<Task<string>>? diagnostics = null) =>
        Wait.UntilAsync(IsServingAsync, timeout, "predictor health SERVING", diagnostics);

    public void Dispose() => _channel.Dispose();
}
