namespace StudentPerformance.Predictor.Model;

/// <summary>
/// The fitted pipeline folded into one affine function: a weight per category value, one per raw score, a bias.
/// ML.NET's PredictionEngine costs microseconds and allocates per call; this costs a few nanoseconds and
/// allocates nothing, and a test proves it matches ML.NET on every reference row.
/// </summary>
/// <remarks>
/// Deliberately free of ML.NET types: the trainer folds the model (services/Predictor.Training, <c>LinearFold</c>) and saves these weights
/// in the model file, so serving builds the scorer from them and never loads Microsoft.ML.
/// </remarks>
internal sealed class LinearScorer
{
    private readonly string[][] _values;
    private readonly double[][] _weights;
    private readonly double _readingWeight;
    private readonly double _writingWeight;
    private readonly double _bias;

    internal LinearScorer(string[][] values, double[][] weights, double readingWeight, double writingWeight, double bias)
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

    /// <summary>The weights as saved in the model file.</summary>
    public LinearWeights ToWeights() => new(
        _bias,
        [new(StudentColumns.ReadingScore, _readingWeight), new(StudentColumns.WritingScore, _writingWeight)],
        [.. StudentColumns.Categorical.Select((name, f) => new CategoricalWeights(name, _values[f], _weights[f]))]);

    /// <summary>
    /// Builds the scorer from saved weights, checking their shape: every input named in <see cref="StudentColumns"/>
    /// order, one finite weight per distinct value. Throws <see cref="InvalidDataException"/> saying what is wrong.
    /// </summary>
    public static LinearScorer FromWeights(LinearWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        CheckFinite(weights.Bias, "bias");
        if (weights.Numeric.Count != StudentColumns.Numeric.Count)
        {
            throw new InvalidDataException($"expected {StudentColumns.Numeric.Count} numeric weights, got {weights.Numeric.Count}");
        }

        for (var n = 0; n < StudentColumns.Numeric.Count; n++)
        {
            CheckName(weights.Numeric[n].Name, StudentColumns.Numeric[n]);
            CheckFinite(weights.Numeric[n].Weight, StudentColumns.Numeric[n]);
        }

        if (weights.Categorical.Count != StudentColumns.Categorical.Count)
        {
            throw new InvalidDataException($"expected {StudentColumns.Categorical.Count} categorical fields, got {weights.Categorical.Count}");
        }

        var values = new string[StudentColumns.Categorical.Count][];
        var categoryWeights = new double[StudentColumns.Categorical.Count][];
        for (var f = 0; f < values.Length; f++)
        {
            var field = weights.Categorical[f];
            var name = StudentColumns.Categorical[f];
            CheckName(field.Name, name);
            if (field.Values.Count == 0 || field.Values.Count != field.Weights.Count)
            {
                throw new InvalidDataException($"'{name}' has {field.Values.Count} values and {field.Weights.Count} weights");
            }

            if (field.Values.Distinct(StringComparer.Ordinal).Count() != field.Values.Count)
            {
                throw new InvalidDataException($"'{name}' lists a value twice");
            }

            foreach (var weight in field.Weights)
            {
                CheckFinite(weight, name);
            }

            values[f] = [.. field.Values];
            categoryWeights[f] = [.. field.Weights];
        }

        return new LinearScorer(values, categoryWeights, weights.Numeric[0].Weight, weights.Numeric[1].Weight, weights.Bias);
    }

    private static void CheckName(string actual, string expected)
    {
        if (!string.Equals(actual, expected, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"expected weights of '{expected}', found '{actual}'");
        }
    }

    private static void CheckFinite(double value, string what)
    {
        if (!double.IsFinite(value))
        {
            throw new InvalidDataException($"weight of '{what}' is not a finite number");
        }
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
}

/// <summary>The folded scorer as the model file stores it (<c>linear.json</c>).</summary>
internal sealed record LinearWeights(double Bias, IReadOnlyList<NumericWeight> Numeric, IReadOnlyList<CategoricalWeights> Categorical);

/// <summary>The weight of one raw score (0..100), normalisation folded in.</summary>
internal sealed record NumericWeight(string Name, double Weight);

/// <summary>One categorical input: its values and, at the same index, each value's weight.</summary>
internal sealed record CategoricalWeights(string Name, IReadOnlyList<string> Values, IReadOnlyList<double> Weights);
