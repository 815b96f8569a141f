using StudentPerformance.Delivery.Tests.Docker;

namespace StudentPerformance.Delivery.Tests;

/// <summary>
/// The benchmark's command line as a user meets it: every mode has --help, and a wrong option stops the run at once
/// with exit code 2 and a message naming the option, before any server or container starts.
/// </summary>
public sealed class BenchCommandLineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("echo", "--max-seconds")]
    [InlineData("predict", "--compare-echo")]
    [InlineData("batch", "--sizes")]
    [InlineData("h2load", "--frame-out")]
    [InlineData("startup", "--image")]
    [InlineData("rollout", "--v2-image")]
    public async Task Mode_Help_ListsItsOptionsAndExitsZero(string mode, string option)
    {
        var result = await BenchAsync(mode, "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(option, result.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--bogus", "predict", "--bogus", "1")]
    [InlineData("--runs", "startup", "--runs")]
    [InlineData("--connections", "predict", "--connections", "0", "--address", "http://127.0.0.1:9")]
    [InlineData("--sizes", "batch", "--sizes", "1,x", "--address", "http://127.0.0.1:9")]
    [InlineData("--timeout", "startup", "--timeout", "never")]
    [InlineData("--v1-image", "rollout", "--v2-image", "b")]
    public async Task Mode_BadOption_ExitsTwoNamingIt(string named, params string[] args)
    {
        var result = await BenchAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(result.StdErr.Split('\n'), l => l.StartsWith("bench: ", StringComparison.Ordinal) && l.Contains(named, StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnknownMode_ExitsTwoNamingIt()
    {
        var result = await BenchAsync("warp");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'warp'", result.StdErr, StringComparison.Ordinal);
    }

    private static Task<CommandResult> BenchAsync(params string[] args)
    {
        // Built beside these tests (Delivery.Tests.csproj orders the build), in the same configuration.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var bench = Path.Combine(RepoPaths.Root, "bench", "bin", testOutput.Parent!.Name, testOutput.Name, "Bench.dll");
        Assert.True(File.Exists(bench), $"no {bench}: build the solution first");
        return Command.RunAsync("dotnet", [bench, .. args], Timeout);
    }
}
