using Grpc.HealthCheck;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StudentPerformance.Predictor.Grpc;
using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Tests.Hosting;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Grpc;

/// <summary>The hot path allocates the response and its task, nothing else: no scopes, no strings, no boxes.</summary>
public sealed class PredictorServiceAllocationTests : IDisposable
{
    private const int Calls = 2_000;

    private readonly ServingState _state = new(new HealthServiceImpl());
    private readonly PredictorService _service;
    private readonly TestCallContext _context = new();

    public PredictorServiceAllocationTests()
    {
        _state.MarkServing(ServingModel.Create(ModelBundle.Load(PredictorProcess.DefaultModelPath), 10_000));
        _service = new PredictorService(_state, new StudentPerformance.Predictor.Shadow.InputSample(Options.Create(new StudentPerformance.Predictor.Shadow.ShadowOptions())), Options.Create(new PredictorOptions()), TimeProvider.System, NullLogger<PredictorService>.Instance);
    }

    [Fact]
    public void Predict_ValidStudent_AllocatesOnlyTheResponse()
    {
        var request = new PredictRequest { Student = ServedPredictor.ValidStudent() };
        Warm(() => _service.Predict(request, _context));

        var perCall = BytesPerCall(() => _service.Predict(request, _context));

        // PredictResponse (40 bytes) + the completed Task<PredictResponse> (72 bytes) on x64.
        Assert.True(perCall <= 128, $"{perCall} bytes per Predict");
    }

    [Fact]
    public void GetModelInfo_Always_AllocatesNothing()
    {
        var request = new GetModelInfoRequest();
        Warm(() => _service.GetModelInfo(request, _context));

        var perCall = BytesPerCall(() => _service.GetModelInfo(request, _context));

        Assert.Equal(0, perCall);
    }

    public void Dispose() => _state.Dispose();

    private static void Warm<T>(Func<Task<T>> call)
    {
        for (var i = 0; i < 200; i++)
        {
            _ = call().Result;
        }
    }

    private static double BytesPerCall<T>(Func<Task<T>> call)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Calls; i++)
        {
            _ = call().Result;
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Calls;
    }
}
