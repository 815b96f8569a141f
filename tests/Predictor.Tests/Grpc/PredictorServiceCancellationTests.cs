using Grpc.Core;
using Grpc.HealthCheck;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StudentPerformance.Predictor.Grpc;
using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Tests.Hosting;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Grpc;

/// <summary>A batch whose caller has gone, or whose deadline has passed, stops with the matching status.</summary>
public sealed class PredictorServiceCancellationTests : IDisposable
{
    private readonly ServingState _state = new(new HealthServiceImpl());
    private readonly PredictorService _service;
    private readonly PredictBatchRequest _request = new();

    public PredictorServiceCancellationTests()
    {
        _state.MarkServing(ServingModel.Create(ModelBundle.Load(PredictorProcess.DefaultModelPath), 10_000));
        _service = new PredictorService(_state, new StudentPerformance.Predictor.Shadow.InputSample(Options.Create(new StudentPerformance.Predictor.Shadow.ShadowOptions())), Options.Create(new PredictorOptions()), TimeProvider.System, NullLogger<PredictorService>.Instance);
        _request.Students.AddRange(Enumerable.Range(0, 5_000).Select(_ => ServedPredictor.ValidStudent()));
    }

    [Fact]
    public async Task PredictBatch_CallerCancelled_Cancelled()
    {
        var context = new TestCallContext(cancellationToken: new CancellationToken(canceled: true));

        var error = await Assert.ThrowsAsync<RpcException>(() => _service.PredictBatch(_request, context));

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    [Fact]
    public async Task PredictBatch_DeadlinePassed_DeadlineExceeded()
    {
        var past = TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(-1);
        var context = new TestCallContext(past, new CancellationToken(canceled: true));

        var error = await Assert.ThrowsAsync<RpcException>(() => _service.PredictBatch(_request, context));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    [Fact]
    public async Task PredictBatch_LiveCall_AnswersEveryStudent()
    {
        var reply = await _service.PredictBatch(_request, new TestCallContext());

        Assert.Equal(_request.Students.Count, reply.MathScores.Count);
    }

    public void Dispose() => _state.Dispose();
}
