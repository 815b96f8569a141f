using Grpc.Net.Client;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Hosting;

/// <summary>One predictor process, started with the built-in default model and shared by a test collection.</summary>
public sealed class ServedPredictor : IAsyncLifetime
{
    private PredictorProcess? _process;
    private GrpcChannel? _channel;

    public PredictorProcess Process => _process ?? throw new InvalidOperationException("not started");

    public GrpcChannel Channel => _channel ?? throw new InvalidOperationException("not started");

    public StudentPerformance.V1.Predictor.PredictorClient Client => new(Channel);

    public async Task InitializeAsync()
    {
        _process = PredictorProcess.Start();
        await _process.WaitUntilServingAsync();
        _channel = _process.CreateChannel();
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }

    /// <summary>A valid student in the dataset's spelling.</summary>
    public static Student ValidStudent() => new()
    {
        Gender = "female",
        RaceEthnicity = "group B",
        ParentalLevelOfEducation = "bachelor's degree",
        Lunch = "standard",
        TestPreparationCourse = "none",
        ReadingScore = 72,
        WritingScore = 74,
    };
}

[CollectionDefinition(Name)]
public sealed class ServedPredictorGroup : ICollectionFixture<ServedPredictor>
{
    public const string Name = "served predictor";
}
