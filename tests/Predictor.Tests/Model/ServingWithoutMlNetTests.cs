using StudentPerformance.Predictor.Tests.Hosting;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Model;

/// <summary>
/// Serving builds its scorer from the weights saved in the model file, so the real server process must not load
/// ML.NET at all: not to start, not to answer. Its memory map lists every managed assembly it has loaded.
/// </summary>
public sealed class ServingWithoutMlNetTests
{
    [Fact]
    public async Task Serve_StartAndPredict_NeverMapsAnMlNetAssembly()
    {
        await using var server = PredictorProcess.Start();
        await server.WaitUntilServingAsync();
        using var channel = server.CreateChannel();
        var client = new StudentPerformance.V1.Predictor.PredictorClient(channel);

        var reply = await client.PredictAsync(new PredictRequest { Student = ServedPredictor.ValidStudent() });
        var batch = await client.PredictBatchAsync(new PredictBatchRequest { Students = { ServedPredictor.ValidStudent(), ServedPredictor.ValidStudent() } });
        var maps = await File.ReadAllLinesAsync($"/proc/{server.Id}/maps");

        Assert.InRange(reply.MathScore, 0, 100);
        Assert.Equal(2, batch.MathScores.Count);
        Assert.Contains(maps, l => l.EndsWith("/Predictor.dll", StringComparison.Ordinal));
        Assert.DoesNotContain(maps, l => l.Contains("/Microsoft.ML", StringComparison.Ordinal));
    }

    [Fact]
    public void ServingBuildOutput_HasNoMlNetAssemblyOrDependency()
    {
        // The serving project does not reference Microsoft.ML (training is services/Predictor.Training), so its
        // build output and its dependency manifest carry none of it.
        var output = PredictorProcess.BuildOutput;

        var assemblies = Directory.EnumerateFiles(output, "Microsoft.ML*.dll").Select(Path.GetFileName).ToList();
        var deps = File.ReadAllText(Path.Combine(output, "Predictor.deps.json"));

        Assert.Empty(assemblies);
        Assert.DoesNotContain("Microsoft.ML", deps, StringComparison.Ordinal);
    }
}
