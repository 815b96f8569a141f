using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Tests.Support;
using StudentPerformance.Predictor.Training;

namespace StudentPerformance.Predictor.Tests.Training;

/// <summary>
/// The accuracy bar on scikit-learn's split of data/reference/stud.csv (random_state=42): the best public
/// reference, Ridge, scores R² 0.8806 and RMSE 5.390 on those 200 rows.
/// </summary>
public sealed class AccuracyTests
{
    private static IReadOnlyList<LabeledStudent> ReferenceTestRows()
    {
        var testRows = DataSplit.ReadRowNumbers(RepoPaths.StudTestRows);
        return [.. StudentCsv.Read(RepoPaths.StudCsv).Rows.Where(r => testRows.Contains(r.Row))];
    }

    private static RegressionMetrics ServedMetrics(string modelPath, IReadOnlyList<LabeledStudent> rows)
    {
        var bundle = ModelBundle.Load(modelPath);
        return ModelTrainer.Metrics(rows, [.. rows.Select(r => (double)bundle.Predict(r.Features))]);
    }

    [Fact]
    public void Train_ReferenceSplit_ReportsAtLeastRidgeAccuracy()
    {
        var run = TrainedModels.Reference;

        Assert.True(run.ExitCode == 0, run.Stderr);
        var summary = run.Summary;
        Assert.Equal(800, summary.GetProperty("rows_train").GetInt32());
        Assert.Equal(200, summary.GetProperty("rows_test").GetInt32());
        Assert.True(summary.GetProperty("r2").GetDouble() >= 0.8806, run.Stdout);
        Assert.True(summary.GetProperty("rmse").GetDouble() <= 5.39, run.Stdout);
        Assert.InRange(summary.GetProperty("cv_r2_mean").GetDouble(), 0.8, 1);
    }

    [Fact]
    public void ServedModel_ReferenceTestRows_AtLeastRidgeAccuracy()
    {
        var rows = ReferenceTestRows();

        var metrics = ServedMetrics(TrainedModels.Reference.ModelPath, rows);

        Assert.Equal(200, rows.Count);
        Assert.True(metrics.R2 >= 0.8806, $"R² {metrics.R2}");
        Assert.True(metrics.Rmse <= 5.39, $"RMSE {metrics.Rmse}");
    }

    [Fact]
    public void SampleTrainedModel_RealReferenceTestRows_RSquaredAtLeast086()
    {
        var run = TrainedModels.Sample;
        Assert.True(run.ExitCode == 0, run.Stderr);

        var metrics = ServedMetrics(run.ModelPath, ReferenceTestRows());

        Assert.True(metrics.R2 >= 0.86, $"R² {metrics.R2}");
    }
}
