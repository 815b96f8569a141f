using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Predictor.Training;

namespace StudentPerformance.Predictor.Tests.Support;

/// <summary>One run of the real <c>train</c> command: the model file, exit code, output and its last-line JSON.</summary>
public sealed record TrainRun(string ModelPath, int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The JSON object the command prints as its last stdout line.</summary>
    public JsonElement Summary => JsonDocument.Parse(Stdout.TrimEnd().Split('\n')[^1]).RootElement;
}

/// <summary>
/// Models trained once per test run through the real <c>train</c> command and shared by every test (training
/// takes seconds; each test only reads the file). Files live in one temp folder removed at process exit.
/// </summary>
public static class TrainedModels
{
    public static readonly DateTimeOffset TrainedAt = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);

    private static readonly Lazy<string> Folder = new(() =>
    {
        var path = Directory.CreateTempSubdirectory("predictor-models-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return path;
    });

    private static readonly Lazy<TrainRun> SampleRun = new(() => Train("sample.zip", ["--data", RepoPaths.SampleCsv]));

    private static readonly Lazy<TrainRun> ReferenceRun = new(() =>
        Train("reference.zip", ["--data", RepoPaths.StudCsv, "--test-rows", RepoPaths.StudTestRows]));

    /// <summary>Trained like the build's default model: data/sample/students.csv, seeded 20% holdout.</summary>
    public static TrainRun Sample => SampleRun.Value;

    /// <summary>Trained on data/reference/stud.csv without the 200 reference test rows.</summary>
    public static TrainRun Reference => ReferenceRun.Value;

    /// <summary>The path of a model trained on the committed sample (for serving tests that need any valid model).</summary>
    public static string SampleModelPath => Sample.ExitCode == 0
        ? Sample.ModelPath
        : throw new InvalidOperationException($"training the sample model failed: {Sample.Stderr}");

    private static TrainRun Train(string fileName, string[] args)
    {
        var path = Path.Combine(Folder.Value, fileName);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = TrainCommand.RunAsync([.. args, "--out", path], new FakeTimeProvider(TrainedAt), stdout, stderr)
            .GetAwaiter().GetResult();
        return new TrainRun(path, exit, stdout.ToString(), stderr.ToString());
    }
}
