// The contract between the model (Model/, Training/) and serving (Grpc/, Health/). ModelBundle lives in
// ModelBundle.cs.
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
