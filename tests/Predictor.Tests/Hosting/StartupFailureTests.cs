namespace StudentPerformance.Predictor.Tests.Hosting;

/// <summary>A model or setting that cannot be used stops the process at start: exit 1, one line saying why.</summary>
public sealed class StartupFailureTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("predictor-start-");

    [Fact]
    public async Task Start_ModelFileMissing_ExitsNonZeroWithOneLineNamingThePath()
    {
        var path = Path.Combine(_temp.FullName, "no-such-model.zip");

        var (exitCode, output) = await RunToExitAsync(new() { ["Predictor__ModelPath"] = path });

        Assert.Equal(1, exitCode);
        var line = Assert.Single(output, l => l.Contains(path, StringComparison.Ordinal));
        Assert.Contains("crit:", line, StringComparison.Ordinal);
        Assert.Contains("not found", line, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(output, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_ModelFileCorrupt_ExitsNonZeroWithOneLineNamingThePath()
    {
        var path = Path.Combine(_temp.FullName, "corrupt.zip");
        await File.WriteAllTextAsync(path, "this is not a model");

        var (exitCode, output) = await RunToExitAsync(new() { ["Predictor__ModelPath"] = path });

        Assert.Equal(1, exitCode);
        var line = Assert.Single(output, l => l.Contains(path, StringComparison.Ordinal));
        Assert.Contains("crit:", line, StringComparison.Ordinal);
        Assert.DoesNotContain(output, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_TruncatedModel_ExitsNonZeroNamingThePath()
    {
        var path = Path.Combine(_temp.FullName, "truncated.zip");
        var whole = await File.ReadAllBytesAsync(PredictorProcess.DefaultModelPath);
        await File.WriteAllBytesAsync(path, whole[..(whole.Length / 2)]);

        var (exitCode, output) = await RunToExitAsync(new() { ["Predictor__ModelPath"] = path });

        Assert.Equal(1, exitCode);
        Assert.Single(output, l => l.Contains(path, StringComparison.Ordinal) && l.Contains("crit:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Predictor__MaxBatchSize", "0", "Predictor:MaxBatchSize")]
    [InlineData("Predictor__MaxBatchSize", "lots", "Predictor:MaxBatchSize")]
    [InlineData("Predictor__DrainTimeout", "soon", "Predictor:DrainTimeout")]
    [InlineData("Predictor__MaxReceiveMessageSize", "10", "Predictor:MaxReceiveMessageSize")]
    [InlineData("Predictor__ModelPath", "", "Predictor:ModelPath")]
    public async Task Start_BadSetting_ExitsNonZeroNamingTheKey(string variable, string value, string key)
    {
        var (exitCode, output) = await RunToExitAsync(new() { [variable] = value });

        Assert.Equal(1, exitCode);
        Assert.Contains(output, l => l.Contains("crit:", StringComparison.Ordinal) && l.Contains(key, StringComparison.Ordinal));
    }

    public void Dispose() => _temp.Delete(recursive: true);

    private static async Task<(int ExitCode, IReadOnlyList<string> Output)> RunToExitAsync(Dictionary<string, string> settings)
    {
        await using var server = PredictorProcess.Start(settings);
        var exitCode = await server.WaitForExitAsync();
        return (exitCode, server.Output);
    }
}
