using Microsoft.ML;
using Microsoft.ML.Trainers;

namespace StudentPerformance.Predictor.Model;

/// <summary>
/// The ML.NET pipeline: one-hot the five categoricals, standardise the two scores, concatenate, regress.
/// <see cref="LinearScorer"/> reads the fitted pipeline back, so a change here must keep that reader in step.
/// </summary>
public static class StudentPipeline
{
    public const string FeaturesColumn = "Features";

    /// <summary>Default SDCA L2 strength, chosen by 5-fold CV on the 800 reference training rows (see TrainerSettings).</summary>
    public const float DefaultL2 = 0.01f;

    public static IEstimator<ITransformer> Create(MLContext ml, float l2Regularization = DefaultL2, int maxIterations = 2000)
    {
        ArgumentNullException.ThrowIfNull(ml);
        var categoricals = StudentColumns.Categorical.Select(c => new InputOutputColumnPair(c)).ToArray();
        var numerics = StudentColumns.Numeric.Select(c => new InputOutputColumnPair(c)).ToArray();
        var featureColumns = StudentColumns.Categorical.Concat(StudentColumns.Numeric).ToArray();

        return ml.Transforms.Categorical.OneHotEncoding(
                categoricals,
                outputKind: Microsoft.ML.Transforms.OneHotEncodingEstimator.OutputKind.Indicator,
                keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
            .Append(ml.Transforms.NormalizeMeanVariance(numerics, fixZero: false))
            .Append(ml.Transforms.Concatenate(FeaturesColumn, featureColumns))
            .Append(ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options
            {
                LabelColumnName = StudentColumns.MathScore,
                FeatureColumnName = FeaturesColumn,
                L2Regularization = l2Regularization,
                L1Regularization = 0,
                MaximumNumberOfIterations = maxIterations,
                ConvergenceTolerance = 1e-7f,
                // One thread keeps SDCA's coordinate order, and so the model, reproducible for a given seed.
                NumberOfThreads = 1,
                Shuffle = true,
            }));
    }
}
