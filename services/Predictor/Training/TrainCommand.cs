namespace StudentPerformance.Predictor.Training;

/// <summary>The <c>train</c> command: <c>Predictor train --data F.csv --out model.zip [--test-rows R.txt] [--seed N]</c>.</summary>
public static class TrainCommand
{
    /// <summary>Runs the trainer; returns the process exit code. Placeholder until the trainer lands.</summary>
    public static Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        Console.Error.WriteLine("train: not implemented yet");
        return Task.FromResult(2);
    }
}
