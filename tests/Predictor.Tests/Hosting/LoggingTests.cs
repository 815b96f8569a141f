using Grpc.Core;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Hosting;

/// <summary>What a caller sends stays out of the logs unless Predictor:LogInputs is turned on.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task Serve_DefaultSettings_LogsNoInputValues()
    {
        var output = await ServeOneGoodAndOneBadCallAsync(new Dictionary<string, string>());

        Assert.DoesNotContain(output, line => line.Contains("group D", StringComparison.Ordinal));
        Assert.DoesNotContain(output, line => line.Contains("robot-xq", StringComparison.Ordinal));
        Assert.DoesNotContain(output, line => line.Contains("417.25", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_LogInputsOn_LogsTheValidatedInputs()
    {
        var output = await ServeOneGoodAndOneBadCallAsync(new Dictionary<string, string> { ["Predictor__LogInputs"] = "true" });

        Assert.Contains(output, line => line.Contains("race_ethnicity=group D", StringComparison.Ordinal));
        Assert.DoesNotContain(output, line => line.Contains("robot-xq", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_JsonFormatter_WritesOneJsonObjectPerLine()
    {
        var output = await ServeOneGoodAndOneBadCallAsync(new Dictionary<string, string> { ["Logging__Console__FormatterName"] = "json" });

        Assert.NotEmpty(output);
        Assert.All(output, line =>
        {
            using var entry = System.Text.Json.JsonDocument.Parse(line);
            Assert.True(entry.RootElement.TryGetProperty("Category", out _), line);
        });
        Assert.Contains(output, line => line.Contains("\"ModelVersion\"", StringComparison.Ordinal));
    }

    private static async Task<IReadOnlyList<string>> ServeOneGoodAndOneBadCallAsync(Dictionary<string, string> settings)
    {
        await using var server = PredictorProcess.Start(settings);
        await server.WaitUntilServingAsync();
        using (var channel = server.CreateChannel())
        {
            var client = new StudentPerformance.V1.Predictor.PredictorClient(channel);
            var good = ServedPredictor.ValidStudent();
            good.RaceEthnicity = "group D";
            await client.PredictAsync(new PredictRequest { Student = good });
            var bad = ServedPredictor.ValidStudent();
            bad.Gender = "robot-xq";
            bad.ReadingScore = 417.25;
            await Assert.ThrowsAsync<RpcException>(() => client.PredictAsync(new PredictRequest { Student = bad }).ResponseAsync);
        }

        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync());
        return server.Output;
    }
}
