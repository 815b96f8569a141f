using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Tests.Support;
using StudentPerformance.Predictor.Training;

namespace StudentPerformance.Predictor.Tests.Model;

/// <summary>
/// The model trained on the reference split (see <see cref="TrainedModels.Reference"/>), loaded once, with the
/// reference rows it is checked against.
/// </summary>
public sealed class ReferenceModelFixture
{
    public ReferenceModelFixture()
    {
        Run = TrainedModels.Reference;
        Assert.True(Run.ExitCode == 0, $"train failed: {Run.Stderr}");
        Bundle = ModelBundle.Load(Run.ModelPath);
        var data = StudentCsv.Read(RepoPaths.StudCsv);
        var testRows = DataSplit.ReadRowNumbers(RepoPaths.StudTestRows);
        AllRows = data.Rows;
        TestRows = [.. data.Rows.Where(r => testRows.Contains(r.Row))];
    }

    public TrainRun Run { get; }

    public string ModelPath => Run.ModelPath;

    public ModelBundle Bundle { get; }

    /// <summary>All 1000 rows of data/reference/stud.csv.</summary>
    public IReadOnlyList<LabeledStudent> AllRows { get; }

    /// <summary>The 200 rows of stud-test-rows-seed42.txt.</summary>
    public IReadOnlyList<LabeledStudent> TestRows { get; }
}

[CollectionDefinition(Name)]
public sealed class ReferenceModelGroup : ICollectionFixture<ReferenceModelFixture>
{
    public const string Name = "reference model";
}
