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
    [InlineData("rollout", "--strategy")]
    [InlineData("rollout", "--edge-image")]
    [InlineData("rollout", "--crash-delay")]
    [InlineData("soak", "--rollouts")]
    [InlineData("soak", "--kill-chance")]
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
    [InlineData("--strategy", "rollout", "--v1-image", "a", "--v2-image", "b", "--strategy", "Rainbow")]
    [InlineData("--scenarios", "rollout", "--v1-image", "a", "--v2-image", "b", "--scenarios", "good,evil")]
    [InlineData("--edge-image", "rollout", "--v1-image", "a", "--v2-image", "b", "--strategy", "Recreate", "--edge-image", "e")]
    [InlineData("--bake-time", "rollout", "--v1-image", "a", "--v2-image", "b", "--bake-time", "-1")]
    [InlineData("--v2-image", "soak", "--v1-image", "a")]
    [InlineData("--rollouts", "soak", "--v1-image", "a", "--v2-image", "b", "--rollouts", "0")]
    [InlineData("--kill-chance", "soak", "--v1-image", "a", "--v2-image", "b", "--kill-chance", "1.5")]
    [InlineData("--strategy", "soak", "--v1-image", "a", "--v2-image", "b", "--strategy", "Recreate")]
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
