namespace StudentPerformance.Predictor.Tests.Hosting;

/// <summary>
/// <c>train</c> and <c>generate-sample</c> moved to the trainer (services/Predictor.Training); the server says where
/// instead of starting to serve with those words as arguments.
/// </summary>
public sealed class MovedCommandsTests
{
    [Theory]
    [InlineData("train")]
    [InlineData("generate-sample")]
    public async Task Run_TrainingCommand_ExitsTwoNamingTheTrainer(string command)
    {
        await using var process = PredictorProcess.Run([command, "--help"]);

        var exitCode = await process.WaitForExitAsync();

        Assert.Equal(2, exitCode);
        Assert.Contains(process.Output, l => l.Contains("services/Predictor.Training", StringComparison.Ordinal) && l.Contains(command, StringComparison.Ordinal));
    }
}
