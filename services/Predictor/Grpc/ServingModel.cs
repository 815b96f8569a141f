using Google.Protobuf.WellKnownTypes;
using StudentPerformance.Predictor.Model;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Grpc;

/// <summary>
/// The loaded model as the service sees it: the bundle, the input schema drawn from its metadata, and the
/// ModelInfo answer, all built once at start and never changed.
/// </summary>
public sealed class ServingModel
{
    private ServingModel(ModelBundle bundle, StudentSchema schema, ModelInfo info)
    {
        Bundle = bundle;
        Schema = schema;
        InfoTask = Task.FromResult(info);
    }

    public ModelBundle Bundle { get; }

    public string Version => Bundle.Version;

    internal StudentSchema Schema { get; }

    /// <summary>
    /// The shared, read-only answer to GetModelInfo (never mutate it), as a completed task so GetModelInfo allocates
    /// nothing.
    /// </summary>
    internal Task<ModelInfo> InfoTask { get; }

    /// <summary>Wraps a loaded bundle; throws <see cref="InvalidDataException"/> when its metadata lacks a field.</summary>
    public static ServingModel Create(ModelBundle bundle, int maxBatchSize)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var schema = StudentSchema.FromMetadata(bundle.Metadata);
        return new ServingModel(bundle, schema, BuildInfo(bundle, schema, maxBatchSize));
    }

    /// <summary>A valid student built from the schema's first allowed values; used to warm the model.</summary>
    public StudentFeatures SampleStudent() => new(
        Schema.Gender.AllowedValues[0],
        Schema.RaceEthnicity.AllowedValues[0],
        Schema.ParentalLevelOfEducation.AllowedValues[0],
        Schema.Lunch.AllowedValues[0],
        Schema.TestPreparationCourse.AllowedValues[0],
        (float)((Schema.ReadingScore.Min + Schema.ReadingScore.Max) / 2),
        (float)((Schema.WritingScore.Min + Schema.WritingScore.Max) / 2));

    private static ModelInfo BuildInfo(ModelBundle bundle, StudentSchema schema, int maxBatchSize)
    {
        var metadata = bundle.Metadata;
        var info = new ModelInfo
        {
            ModelVersion = bundle.Version,
            TrainedAt = Timestamp.FromDateTimeOffset(metadata.TrainedAt),
            TrainingData = new DataSource
            {
                Name = metadata.DataName,
                Sha256 = metadata.DataSha256,
                RowsTrain = metadata.RowsTrain,
                RowsTest = metadata.RowsTest,
            },
            Algorithm = metadata.Algorithm,
            Holdout = new StudentPerformance.V1.RegressionMetrics
            {
                R2 = metadata.Holdout.R2,
                Rmse = metadata.Holdout.Rmse,
                Mae = metadata.Holdout.Mae,
            },
            CrossValidation = new CrossValidation
            {
                Folds = metadata.CrossValidation.Folds,
                R2Mean = metadata.CrossValidation.R2Mean,
                R2Sd = metadata.CrossValidation.R2Sd,
                RmseMean = metadata.CrossValidation.RmseMean,
                RmseSd = metadata.CrossValidation.RmseSd,
            },
            MaxBatchSize = maxBatchSize,
        };

        // Names are the wire names (what a caller sends), whatever spelling the training CSV used.
        foreach (var field in schema.Categoricals)
        {
            info.CategoricalFields.Add(new StudentPerformance.V1.CategoricalField { Name = field.Name, AllowedValues = { field.AllowedValues } });
        }

        foreach (var field in schema.Numerics)
        {
            info.NumericFields.Add(new StudentPerformance.V1.NumericField { Name = field.Name, Min = field.Min, Max = field.Max });
        }

        return info;
    }
}
