using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Transforms;

namespace StudentPerformance.Predictor.Model;

/// <summary>
/// The fitted pipeline folded into one affine function: a weight per category value, one per raw score, a bias.
/// ML.NET's PredictionEngine costs microseconds and allocates per call; this costs a few nanoseconds and
/// allocates nothing, and a test proves it matches ML.NET on every reference row.
/// </summary>
internal sealed class LinearScorer
{
    private readonly string[][] _values;
    private readonly double[][] _weights;
    private readonly double _readingWeight;
    private readonly double _writingWeight;
    private readonly double _bias;

    private LinearScorer(string[][] values, double[][] weights, double readingWeight, double writingWeight, double bias)
    {
        _values = values;
        _weights = weights;
        _readingWeight = readingWeight;
        _writingWeight = writingWeight;
        _bias = bias;
    }

    /// <summary>The category values the model knows, per categorical column, in <see cref="StudentColumns.Categorical"/> order.</summary>
    public IReadOnlyList<IReadOnlyList<string>> CategoryValues => _values;

    /// <summary>The raw (unclamped) linear score. Throws for a category the model never saw.</summary>
    public double Score(in StudentFeatures student)
    {
        var sum = _bias + (_readingWeight * student.ReadingScore) + (_writingWeight * student.WritingScore);
        sum += Weight(0, student.Gender);
        sum += Weight(1, student.RaceEthnicity);
        sum += Weight(2, student.ParentalLevelOfEducation);
        sum += Weight(3, student.Lunch);
        sum += Weight(4, student.TestPreparationCourse);
        return sum;
    }

    private double Weight(int field, string value)
    {
        // At most six values per field: a linear scan of ordinal compares beats hashing the string.
        var values = _values[field];
        for (var i = 0; i < values.Length; i++)
        {
            if (string.Equals(values[i], value, StringComparison.Ordinal))
            {
                return _weights[field][i];
            }
        }

        throw UnknownCategory(field, value);
    }

    private ArgumentOutOfRangeException UnknownCategory(int field, string value) => new(
        StudentColumns.Categorical[field],
        value,
        $"unknown {StudentColumns.Categorical[field]}; allowed: {string.Join(", ", _values[field])}");

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
