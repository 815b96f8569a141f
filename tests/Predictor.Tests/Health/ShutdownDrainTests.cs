using Grpc.Core;
using StudentPerformance.Predictor.Tests.Hosting;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Health;

/// <summary>SIGTERM under load: calls already sent finish; later ones are refused as UNAVAILABLE, never broken.</summary>
public sealed class ShutdownDrainTests
{
    [Fact]
    public async Task Sigterm_UnderLoad_NoCallFailsWithAnythingButUnavailableAndExitIsZero()
    {
        await using var server = PredictorProcess.Start();
        await server.WaitUntilServingAsync();
        using var channel = server.CreateChannel();
        var client = new StudentPerformance.V1.Predictor.PredictorClient(channel);
        var request = new PredictBatchRequest();
        request.Students.AddRange(Enumerable.Range(0, 2_000).Select(_ => ServedPredictor.ValidStudent()));
        var firstAnswers = Enumerable.Range(0, 4).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();

        async Task<(int Ok, List<StatusCode> Failures)> CallUntilRefusedAsync(TaskCompletionSource firstAnswer)
        {
            var ok = 0;
            var failures = new List<StatusCode>();
            while (true)
            {
                try
                {
                    var reply = await client.PredictBatchAsync(request);
                    Assert.Equal(request.Students.Count, reply.MathScores.Count);
                    ok++;
                    firstAnswer.TrySetResult();
                }
                catch (RpcException ex)
                {
                    failures.Add(ex.StatusCode);
                    return (ok, failures);
                }
            }
        }

        var callers = firstAnswers.Select(CallUntilRefusedAsync).ToArray();
        await Task.WhenAll(firstAnswers.Select(f => f.Task));

        server.Terminate();
        var results = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(results, r => Assert.True(r.Ok > 0));
        Assert.All(results.SelectMany(r => r.Failures), code => Assert.Equal(StatusCode.Unavailable, code));
        Assert.Equal(0, await server.WaitForExitAsync());
    }
}
