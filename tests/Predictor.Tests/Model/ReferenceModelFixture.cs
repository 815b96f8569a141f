using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Tests.Support;
using StudentPerformance.Predictor.Training;

namespace StudentPerformance.Predictor.Tests.Model;

/// <summary>
/// Trains once, through the real <c>train</c> command, on the reference split of ../shared/data/stud.csv, and
/// shares the saved model file with every test in the collection.
/// </summary>
public sealed class ReferenceModelFixture : IDisposable
{
    public static readonly DateTimeOffset TrainedAt = new(2026, 11, 27, 8, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _dir = new();

    public ReferenceModelFixture()
    {
        ModelPath = _dir.File("reference.zip");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        ExitCode = TrainCommand.RunAsync(
            ["--data", RepoPaths.StudCsv, "--test-rows", RepoPaths.StudTestRows, "--out", ModelPath],
            new FakeTimeProvider(TrainedAt),
            stdout,
            stderr).GetAwaiter().GetResult();
        Stdout = stdout.ToString();
        Stderr = stderr.ToString();
        Bundle = ExitCode == 0 ? ModelBundle.Load(ModelPath) : null;
    }

    public string ModelPath { get; }

    public int ExitCode { get; }

    public string Stdout { get; }

    public string Stderr { get; }

    public ModelBundle? Bundle { get; }

    public void Dispose() => _dir.Dispose();
}

[CollectionDefinition(Name)]
public sealed class ReferenceModelGroup : ICollectionFixture<ReferenceModelFixture>
{
    public const string Name = "reference model";
}
