using StudentPerformance.Predictor.Hosting;

namespace StudentPerformance.Predictor.Tests.Hosting;

/// <summary>The container health check: <c>Predictor probe</c> exits 0 only for SERVING.</summary>
[Collection(ServedPredictorGroup.Name)]
public sealed class ProbeCommandTests(ServedPredictor server)
{
    // These tests are about the answer, not its speed: a fresh probe process JITs its gRPC client inside the
    // deadline, which on a loaded machine can take longer than the 3 s default.
    private const string Patient = "30s";

    [Theory]
    [InlineData("")]
    [InlineData("studentperformance.v1.Predictor")]
    public async Task Probe_ServingServer_ExitsZero(string service)
    {
        var (exitCode, output) = await ProbeAsync("--address", server.Process.GrpcAddress.ToString(), "--service", service, "--timeout", Patient);

        Assert.Equal(0, exitCode);
        Assert.Contains("SERVING", output);
    }

    [Fact]
    public async Task Probe_UnknownService_ExitsOne()
    {
        var (exitCode, _) = await ProbeAsync("--address", server.Process.GrpcAddress.ToString(), "--service", "no.such.Service", "--timeout", Patient);

        Assert.Equal(1, exitCode);
    }

    [Fact]
    public async Task Probe_NothingListening_ExitsOne()
    {
        var nobody = new Uri($"http://127.0.0.1:{PredictorProcess.FreePort()}");

        var (exitCode, output) = await ProbeAsync("--address", nobody.ToString(), "--timeout", Patient);

        Assert.Equal(1, exitCode);
        Assert.Contains(output, l => l.Contains("Unavailable", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--timeout", "soon")]
    [InlineData("--timeout", "0s")]
    [InlineData("--address", "not a url")]
    [InlineData("--address", "ftp://127.0.0.1:8000")]
    [InlineData("--bogus", "1")]
    [InlineData("--service")]
    public async Task Probe_BadArguments_ExitsTwoNamingTheOption(params string[] arguments)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exitCode = await ProbeCommand.RunAsync(arguments, TimeProvider.System, stdout, stderr);

        Assert.Equal(2, exitCode);
        Assert.Contains(stderr.ToString().Split('\n'), l => l.StartsWith("probe: ", StringComparison.Ordinal) && l.Contains(arguments[0], StringComparison.Ordinal));
        Assert.Empty(stdout.ToString());
    }

    [Fact]
    public async Task Probe_BadArgumentsInTheProcess_ExitsTwo()
    {
        var (exitCode, output) = await ProbeAsync("--timeout", "soon");

        Assert.Equal(2, exitCode);
        Assert.Contains(output, l => l.Contains("--timeout 'soon'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Probe_Help_ListsTheOptionsAndExitsZero()
    {
        var stdout = new StringWriter();

        var exitCode = await ProbeCommand.RunAsync(["--help"], TimeProvider.System, stdout, TextWriter.Null);

        Assert.Equal(0, exitCode);
        Assert.Contains("--address", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("--service", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("--timeout", stdout.ToString(), StringComparison.Ordinal);
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
