using System.Globalization;
using Microsoft.ML;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Training;

/// <summary>How to train: the seed (SDCA's order and the CV folds) and the regression's L2 strength.</summary>
public sealed record TrainerSettings
{
    public int Seed { get; init; } = 42;

    public float L2 { get; init; } = StudentPipeline.DefaultL2;

    public int Folds { get; init; } = 5;

    public string Algorithm => string.Create(
        CultureInfo.InvariantCulture,
        $"ML.NET SDCA linear regression (L2 {L2:G3}); one-hot categoricals, standardised reading/writing scores");
}

/// <summary>A fitted model with its holdout and cross-validation metrics.</summary>
public sealed record TrainingResult(
    ITransformer Model,
    DataViewSchema InputSchema,
    RegressionMetrics Holdout,
    CrossValidationMetrics CrossValidation,
    IReadOnlyList<CategoricalField> CategoricalFields);

public static class ModelTrainer
{
    /// <summary>Cross-validates on <paramref name="train"/> only, fits on all of it, and scores on <paramref name="test"/>.</summary>
    public static TrainingResult Train(IReadOnlyList<LabeledStudent> train, IReadOnlyList<LabeledStudent> test, TrainerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(settings);
        if (test.Count < 2)
        {
            throw new ArgumentException("the holdout needs at least 2 rows", nameof(test));
        }

        var cv = CrossValidate(train, settings);
        var ml = new MLContext(settings.Seed);
        var (model, schema) = Fit(ml, train, settings);
        var holdout = Metrics(test, Predict(ml, model, test));
        var scorer = LinearFold.FromModel(model, schema);
        var fields = StudentColumns.Categorical
            .Select((name, i) => new CategoricalField(name, [.. scorer.CategoryValues[i]]))
            .ToArray();
        return new TrainingResult(model, schema, holdout, cv, fields);
    }

    /// <summary>k-fold CV on the given rows: mean and sample sd of R² and RMSE over the folds.</summary>
    public static CrossValidationMetrics CrossValidate(IReadOnlyList<LabeledStudent> rows, TrainerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(settings);
        if (rows.Count < settings.Folds * 2)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{settings.Folds}-fold CV needs at least {settings.Folds * 2} rows"), nameof(rows));
        }

        var fold = DataSplit.Folds(rows.Count, settings.Folds, settings.Seed);
        var r2 = new double[settings.Folds];
        var rmse = new double[settings.Folds];
        for (var k = 0; k < settings.Folds; k++)
        {
            var fitRows = rows.Where((_, i) => fold[i] != k).ToArray();
            var scoreRows = rows.Where((_, i) => fold[i] == k).ToArray();
            var ml = new MLContext(settings.Seed);
            var (model, _) = Fit(ml, fitRows, settings);
            var metrics = Metrics(scoreRows, Predict(ml, model, scoreRows));
            r2[k] = metrics.R2;
            rmse[k] = metrics.Rmse;
        }

        return new CrossValidationMetrics(settings.Folds, r2.Average(), SampleSd(r2), rmse.Average(), SampleSd(rmse));
    }

    internal static (ITransformer Model, DataViewSchema Schema) Fit(MLContext ml, IReadOnlyList<LabeledStudent> rows, TrainerSettings settings)
    {
        var data = ml.Data.LoadFromEnumerable(rows.Select(r => StudentRecord.From(r.Features, r.MathScore)));
        return (StudentPipeline.Create(ml, settings.L2).Fit(data), data.Schema);
    }

    /// <summary>ML.NET's own predictions, clamped to 0..100 as served.</summary>
    internal static double[] Predict(MLContext ml, ITransformer model, IReadOnlyList<LabeledStudent> rows)
    {
        var data = ml.Data.LoadFromEnumerable(rows.Select(r => StudentRecord.From(r.Features, r.MathScore)));
        return ml.Data.CreateEnumerable<StudentPrediction>(model.Transform(data), reuseRowObject: false)
            .Select(p => Math.Clamp((double)p.Score, StudentColumns.ScoreMin, StudentColumns.ScoreMax))
            .ToArray();
    }

    /// <summary>R² (1 − SSres/SStot, as scikit-learn), RMSE and MAE.</summary>
    public static RegressionMetrics Metrics(IReadOnlyList<LabeledStudent> rows, IReadOnlyList<double> predicted)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(predicted);
        var mean = rows.Average(r => (double)r.MathScore);
        double ssRes = 0, ssTot = 0, absSum = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var error = rows[i].MathScore - predicted[i];
            ssRes += error * error;
            absSum += Math.Abs(error);
            ssTot += (rows[i].MathScore - mean) * (rows[i].MathScore - mean);
        }

        return new RegressionMetrics(1 - (ssRes / ssTot), Math.Sqrt(ssRes / rows.Count), absSum / rows.Count);
    }

    private static double SampleSd(double[] values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
    }
}
