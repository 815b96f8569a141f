// CONTRACT between the Training/Model owner and the Grpc/Health owner. The training helper replaces the
// bodies (and may move these types into their own files); the signatures below stay, so serving code can be
// written against them in parallel.
namespace StudentPerformance.Predictor.Model;

/// <summary>One validated student, categoricals in the dataset's canonical spelling.</summary>
public readonly record struct StudentFeatures(
    string Gender,
    string RaceEthnicity,
    string ParentalLevelOfEducation,
    string Lunch,
    string TestPreparationCourse,
    float ReadingScore,
    float WritingScore);

/// <summary>A categorical input and the values the model was trained on.</summary>
public sealed record CategoricalField(string Name, IReadOnlyList<string> AllowedValues);

/// <summary>A numeric input and its accepted closed range.</summary>
public sealed record NumericField(string Name, double Min, double Max);

public sealed record RegressionMetrics(double R2, double Rmse, double Mae);

public sealed record CrossValidationMetrics(int Folds, double R2Mean, double R2Sd, double RmseMean, double RmseSd);

/// <summary>What GetModelInfo returns; saved inside the model file next to the ML.NET transformer.</summary>
public sealed record ModelMetadata(
    DateTimeOffset TrainedAt,
    string DataName,
    string DataSha256,
    int RowsTrain,
    int RowsTest,
    string Algorithm,
    RegressionMetrics Holdout,
    CrossValidationMetrics CrossValidation,
    IReadOnlyList<CategoricalField> CategoricalFields,
    IReadOnlyList<NumericField> NumericFields);

/// <summary>The model file could not be used. The message names the path and the reason.</summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException(string path, string reason, Exception? inner = null)
        : base($"cannot load model '{path}': {reason}", inner)
    {
        ModelPath = path;
        Reason = reason;
    }

    public ModelLoadException() : this("", "unknown") { }

    public ModelLoadException(string message) : this("", message) { }

    public ModelLoadException(string message, Exception inner) : this("", message, inner) { }

    public string ModelPath { get; }

    public string Reason { get; }
}

/// <summary>
/// A loaded, immutable model: safe to call from any thread, loaded once at start.
/// </summary>
public sealed partial class ModelBundle
{
    /// <summary>Content hash of the model file: sha256 hex, first 16 characters.</summary>
    public string Version { get; }

    public ModelMetadata Metadata { get; }

    /// <summary>Loads and checks a model file. Throws <see cref="ModelLoadException"/> when missing or corrupt.</summary>
    public static ModelBundle Load(string path) => throw new NotImplementedException("training helper");

    /// <summary>Predicts one math score, clamped to 0..100. Thread-safe, allocation-free on the hot path.</summary>
    public float Predict(in StudentFeatures student) => throw new NotImplementedException("training helper");

    /// <summary>Predicts many; <paramref name="scores"/> has one slot per student, in order.</summary>
    public void PredictBatch(ReadOnlySpan<StudentFeatures> students, Span<float> scores) =>
        throw new NotImplementedException("training helper");

    private ModelBundle(string version, ModelMetadata metadata)
    {
        Version = version;
        Metadata = metadata;
    }
}
