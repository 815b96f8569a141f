namespace StudentPerformance.Predictor.Model;

/// <summary>
/// A loaded, immutable model: safe to call from any thread, loaded once at start.
/// </summary>
public sealed partial class ModelBundle
{
    private readonly LinearScorer _scorer;

    /// <summary>Content hash of the model file: sha256 hex, first 16 characters.</summary>
    public string Version { get; }

    public ModelMetadata Metadata { get; }

    /// <summary>The file this bundle was loaded from (full path).</summary>
    public string Path { get; }

    /// <summary>
    /// Loads and checks a model file. Throws <see cref="ModelLoadException"/> when missing or corrupt. Builds the
    /// scorer from the folded weights the trainer saved and proved against ML.NET; ML.NET itself is not loaded.
    /// </summary>
    public static ModelBundle Load(string path)
    {
        var contents = ModelFile.Read(path);
        CheckMetadataMatchesModel(path, contents.Metadata, contents.Scorer);
        return new ModelBundle(
            contents.Version, contents.Metadata, contents.Scorer, System.IO.Path.GetFullPath(path));
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

    private ModelBundle(string version, ModelMetadata metadata, LinearScorer scorer, string path)
    {
        Version = version;
        Metadata = metadata;
        _scorer = scorer;
        Path = path;
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
}
