using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Transforms;

using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Training;

/// <summary>
/// Folds the fitted ML.NET pipeline into a <see cref="LinearScorer"/> and proves the fold against ML.NET itself.
/// Training-time only: serving reads the folded weights from the model file and never comes here.
/// </summary>
internal static class LinearFold
{
    /// <summary>How far the folded score may be from ML.NET's: 1e-4, relative above 1.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>
    /// Folds the model and checks the fold against ML.NET's own predictions on <paramref name="rows"/> plus one probe
    /// row per category value. Throws <see cref="NotSupportedException"/> when the model cannot be folded or the fold
    /// disagrees with ML.NET anywhere.
    /// </summary>
    public static LinearScorer FoldAndVerify(MLContext ml, ITransformer model, DataViewSchema inputSchema, IEnumerable<StudentFeatures> rows)
    {
        ArgumentNullException.ThrowIfNull(ml);
        ArgumentNullException.ThrowIfNull(rows);
        var scorer = FromModel(model, inputSchema);
        var checkRows = ProbeRows(scorer).Concat(rows).ToArray();
        var data = ml.Data.LoadFromEnumerable(checkRows.Select(r => StudentRecord.From(r)));
        var expected = ml.Data.CreateEnumerable<StudentPrediction>(model.Transform(data), reuseRowObject: false)
            .Select(p => p.Score).ToArray();
        for (var i = 0; i < checkRows.Length; i++)
        {
            var actual = scorer.Score(checkRows[i]);
            if (!(Math.Abs(actual - expected[i]) <= Tolerance * Math.Max(1, Math.Abs(expected[i]))))
            {
                throw new NotSupportedException(string.Create(
                    CultureInfo.InvariantCulture, $"folded scorer gives {actual} where ML.NET gives {expected[i]} (check row {i})"));
            }
        }

        return scorer;
    }

    /// <summary>One row per category value, with varied scores, so every weight takes part in the check.</summary>
    private static IEnumerable<StudentFeatures> ProbeRows(LinearScorer scorer)
    {
        var values = scorer.CategoryValues;
        var longest = values.Max(v => v.Count);
        for (var i = 0; i < longest; i++)
        {
            yield return new StudentFeatures(
                values[0][i % values[0].Count],
                values[1][i % values[1].Count],
                values[2][i % values[2].Count],
                values[3][i % values[3].Count],
                values[4][i % values[4].Count],
                ReadingScore: 17 + (13 * i),
                WritingScore: 95 - (11 * i));
        }
    }

    /// <summary>
    /// Reads weights, normaliser and one-hot slots out of the pipeline <see cref="StudentPipeline"/> fits.
    /// Throws <see cref="NotSupportedException"/> for any other shape of model.
    /// </summary>
    public static LinearScorer FromModel(ITransformer model, DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (model is not IEnumerable<ITransformer> chain)
        {
            throw new NotSupportedException("model is not a transformer chain");
        }

        var transformers = chain.ToList();
        var predictor = transformers.OfType<RegressionPredictionTransformer<LinearRegressionModelParameters>>().SingleOrDefault()
            ?? throw new NotSupportedException("model has no linear regression predictor");
        var normalizer = transformers.OfType<NormalizingTransformer>().SingleOrDefault()
            ?? throw new NotSupportedException("model has no score normaliser");

        var outputSchema = model.GetOutputSchema(inputSchema);
        var features = outputSchema.GetColumnOrNull(predictor.FeatureColumnName)
            ?? throw new NotSupportedException($"model has no '{predictor.FeatureColumnName}' column");
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        features.GetSlotNames(ref slotNames);
        var names = slotNames.DenseValues().Select(n => n.ToString()).ToArray();
        var weights = predictor.Model.Weights;
        if (names.Length != weights.Count)
        {
            throw new NotSupportedException($"{names.Length} feature slots but {weights.Count} weights");
        }

        double bias = predictor.Model.Bias;
        var values = new List<string>[StudentColumns.Categorical.Count];
        var categoryWeights = new List<double>[StudentColumns.Categorical.Count];
        for (var f = 0; f < values.Length; f++)
        {
            values[f] = [];
            categoryWeights[f] = [];
        }

        var numericWeights = new double?[StudentColumns.Numeric.Count];
        for (var slot = 0; slot < names.Length; slot++)
        {
            var name = names[slot];
            var numeric = IndexOf(StudentColumns.Numeric, name);
            if (numeric >= 0)
            {
                // The normaliser's columns are the two scores in StudentColumns.Numeric order.
                var (scale, offset) = Affine(normalizer, numeric);
                numericWeights[numeric] = weights[slot] * scale;
                bias -= weights[slot] * scale * offset;
                continue;
            }

            var dot = name.IndexOf('.', StringComparison.Ordinal);
            var field = dot > 0 ? IndexOf(StudentColumns.Categorical, name[..dot]) : -1;
            if (field < 0)
            {
                throw new NotSupportedException($"unexpected feature slot '{name}'");
            }

            values[field].Add(name[(dot + 1)..]);
            categoryWeights[field].Add(weights[slot]);
        }

        for (var f = 0; f < values.Length; f++)
        {
            if (values[f].Count == 0)
            {
                throw new NotSupportedException($"model has no values for '{StudentColumns.Categorical[f]}'");
            }
        }

        if (numericWeights[0] is not { } reading || numericWeights[1] is not { } writing)
        {
            throw new NotSupportedException("model lacks a score feature");
        }

        return new LinearScorer(
            values.Select(v => v.ToArray()).ToArray(),
            categoryWeights.Select(w => w.ToArray()).ToArray(),
            reading,
            writing,
            bias);
    }

    private static (double Scale, double Offset) Affine(NormalizingTransformer normalizer, int column) =>
        normalizer.GetNormalizerModelParameters(column) switch
        {
            // ML.NET computes (x - offset) * scale.
            NormalizingTransformer.AffineNormalizerModelParameters<float> affine => (affine.Scale, affine.Offset),
            var other => throw new NotSupportedException(
                string.Create(CultureInfo.InvariantCulture, $"normaliser {column} is {other?.GetType().Name ?? "missing"}, not affine")),
        };

    private static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
