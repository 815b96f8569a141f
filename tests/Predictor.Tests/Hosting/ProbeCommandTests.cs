using StudentPerformance.Predictor.Hosting;

namespace StudentPerformance.Predictor.Tests.Hosting;

/// <summary>The container health check: <c>Predictor probe</c> exits 0 only for SERVING.</summary>
[Collection(ServedPredictorGroup.Name)]
public sealed class ProbeCommandTests(ServedPredictor server)
{
    [Theory]
    [InlineData("")]
    [InlineData("studentperformance.v1.Predictor")]
    public async Task Probe_ServingServer_ExitsZero(string service)
    {
        var (exitCode, output) = await ProbeAsync("--address", server.Process.GrpcAddress.ToString(), "--service", service);

        Assert.Equal(0, exitCode);
        Assert.Contains("SERVING", output);
    }

    [Fact]
    public async Task Probe_UnknownService_ExitsOne()
    {
        var (exitCode, _) = await ProbeAsync("--address", server.Process.GrpcAddress.ToString(), "--service", "no.such.Service");

        Assert.Equal(1, exitCode);
    }

    [Fact]
    public async Task Probe_NothingListening_ExitsOne()
    {
        var nobody = new Uri($"http://127.0.0.1:{PredictorProcess.FreePort()}");

        var (exitCode, output) = await ProbeAsync("--address", nobody.ToString(), "--timeout", "2s");

        Assert.Equal(1, exitCode);
        Assert.Contains(output, l => l.Contains("Unavailable", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--timeout", "soon")]
    [InlineData("--address", "not a url")]
    [InlineData("--bogus", "1")]
    [InlineData("--service")]
    public async Task Probe_BadArguments_ExitsTwo(params string[] arguments)
    {
        var (exitCode, output) = await ProbeAsync(arguments);

        Assert.Equal(2, exitCode);
        Assert.Contains(output, l => l.StartsWith("usage:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("3s", 3000)]
    [InlineData("1m", 60000)]
    [InlineData("00:00:02", 2000)]
    public void TryParseDuration_KnownForms_Parses(string text, double milliseconds)
    {
        Assert.True(ProbeCommand.TryParseDuration(text, out var duration));

        Assert.Equal(milliseconds, duration.TotalMilliseconds);
    }

    private static async Task<(int ExitCode, IReadOnlyList<string> Output)> ProbeAsync(params string[] arguments)
    {
        await using var probe = PredictorProcess.Run(["probe", .. arguments]);
        var exitCode = await probe.WaitForExitAsync();
        return (exitCode, probe.Output);
    }
}
