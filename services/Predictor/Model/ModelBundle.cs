using System.Diagnostics;
using Microsoft.ML;

namespace StudentPerformance.Predictor.Model;

/// <summary>
/// A loaded, immutable model: safe to call from any thread, loaded once at start.
/// </summary>
public sealed partial class ModelBundle
{
    private const float SelfCheckTolerance = 1e-3f;

    private readonly LinearScorer _scorer;

    /// <summary>Content hash of the model file: sha256 hex, first 16 characters.</summary>
    public string Version { get; }

    public ModelMetadata Metadata { get; }

    /// <summary>The file this bundle was loaded from (full path).</summary>
    public string Path { get; }

    /// <summary>How long <see cref="Load"/> took: read, ML.NET load, scorer derivation and self-check.</summary>
    public TimeSpan LoadDuration { get; }

    /// <summary>Loads and checks a model file. Throws <see cref="ModelLoadException"/> when missing or corrupt.</summary>
    public static ModelBundle Load(string path)
    {
        var started = Stopwatch.GetTimestamp();
        var ml = new MLContext(seed: 0);
        var contents = ModelFile.Read(path, ml);
        var fullPath = System.IO.Path.GetFullPath(path);

        LinearScorer scorer;
        try
        {
            scorer = LinearScorer.FromModel(contents.Model, contents.InputSchema);
        }
        catch (NotSupportedException e)
        {
            throw new ModelLoadException(path, $"unsupported model: {e.Message}", e);
        }

        CheckMetadataMatchesModel(path, contents.Metadata, scorer);
        SelfCheck(path, ml, contents.Model, scorer);
        return new ModelBundle(contents.Version, contents.Metadata, scorer, fullPath, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Predicts one math score, clamped to 0..100. Thread-safe, allocation-free on the hot path.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A category the model does not know, or a score outside 0..100.</exception>
    public float Predict(in StudentFeatures student)
    {
        CheckScore(student.ReadingScore, StudentColumns.ReadingScore);
        CheckScore(student.WritingScore, StudentColumns.WritingScore);
        return (float)Math.Clamp(_scorer.Score(student), StudentColumns.ScoreMin, StudentColumns.ScoreMax);
    }

    /// <summary>Predicts many; <paramref name="scores"/> has one slot per student, in order.</summary>
    public void PredictBatch(ReadOnlySpan<StudentFeatures> students, Span<float> scores)
    {
        if (scores.Length < students.Length)
        {
            throw new ArgumentException($"need {students.Length} score slots, got {scores.Length}", nameof(scores));
        }

        for (var i = 0; i < students.Length; i++)
        {
            scores[i] = Predict(students[i]);
        }
    }

    private ModelBundle(string version, ModelMetadata metadata, LinearScorer scorer, string path, TimeSpan loadDuration)
    {
        Version = version;
        Metadata = metadata;
        _scorer = scorer;
        Path = path;
        LoadDuration = loadDuration;
    }

    private static void CheckScore(float score, string field)
    {
        // Written so NaN fails too.
        if (!(score >= StudentColumns.ScoreMin && score <= StudentColumns.ScoreMax))
        {
            throw new ArgumentOutOfRangeException(field, score, $"{field} must be within 0..100");
        }
    }

    private static void CheckMetadataMatchesModel(string path, ModelMetadata metadata, LinearScorer scorer)
    {
        for (var f = 0; f < StudentColumns.Categorical.Count; f++)
        {
            var name = StudentColumns.Categorical[f];
            var described = metadata.CategoricalFields.FirstOrDefault(c => c.Name == name)
                ?? throw new ModelLoadException(path, $"metadata lacks categorical field '{name}'");
            if (!described.AllowedValues.Order(StringComparer.Ordinal).SequenceEqual(scorer.CategoryValues[f].Order(StringComparer.Ordinal)))
            {
                throw new ModelLoadException(path, $"metadata values of '{name}' differ from the model's");
            }
        }
    }

    /// <summary>
    /// Proves the folded scorer against ML.NET itself on one probe row per category value, so a model whose
    /// pipeline the folding misreads fails at load instead of answering wrong numbers.
    /// </summary>
    private static void SelfCheck(string path, MLContext ml, ITransformer model, LinearScorer scorer)
    {
        var probes = new List<StudentFeatures>();
        var values = scorer.CategoryValues;
        var longest = values.Max(v => v.Count);
        for (var i = 0; i < longest; i++)
        {
            probes.Add(new StudentFeatures(
                values[0][i % values[0].Count],
                values[1][i % values[1].Count],
                values[2][i % values[2].Count],
                values[3][i % values[3].Count],
                values[4][i % values[4].Count],
                ReadingScore: 17 + (13 * i),
                WritingScore: 95 - (11 * i)));
        }

        var data = ml.Data.LoadFromEnumerable(probes.Select(p => StudentRecord.From(p)));
        var expected = ml.Data.CreateEnumerable<StudentPrediction>(model.Transform(data), reuseRowObject: false)
            .Select(p => p.Score).ToArray();
        for (var i = 0; i < probes.Count; i++)
        {
            var actual = scorer.Score(probes[i]);
            if (!(Math.Abs(actual - expected[i]) <= SelfCheckTolerance * Math.Max(1, Math.Abs(expected[i]))))
            {
                throw new ModelLoadException(path, $"unsupported model: folded scorer gives {actual} where ML.NET gives {expected[i]}");
            }
        }
    }
}
