using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using StudentPerformance.V1;

namespace StudentPerformance.Bench.Echo;

/// <summary>
/// The predictor's contract with no work behind it: every call returns a constant. Benchmarking it gives the
/// ceiling of Kestrel + HTTP/2 + gRPC + protobuf on this machine, which the real predictor is judged against.
/// </summary>
internal sealed class EchoPredictor : Predictor.PredictorBase
{
    /// <summary>Same length as a real model version (16 hex characters), so responses are the same size.</summary>
    public const string Version = "echo000000000000";

    private static readonly Task<PredictResponse> Constant =
        Task.FromResult(new PredictResponse { MathScore = 66.0, ModelVersion = Version });

    private static readonly ModelInfo Info = BuildInfo();

    public override Task<PredictResponse> Predict(PredictRequest request, ServerCallContext context) => Constant;

    public override Task<PredictBatchResponse> PredictBatch(PredictBatchRequest request, ServerCallContext context)
    {
        var response = new PredictBatchResponse { ModelVersion = Version };
        var scores = new double[request.Students.Count];
        Array.Fill(scores, 66.0);
        response.MathScores.Add(scores);
        return Task.FromResult(response);
    }

    public override Task<ModelInfo> GetModelInfo(GetModelInfoRequest request, ServerCallContext context) =>
        Task.FromResult(Info);

    // The dataset's categories (data/reference/README.md), so that `--mix random` works against echo too.
    private static ModelInfo BuildInfo()
    {
        var info = new ModelInfo
        {
            ModelVersion = Version,
            TrainedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch),
            Algorithm = "echo",
            MaxBatchSize = 10_000,
        };
        info.CategoricalFields.Add(Field("gender", "female", "male"));
        info.CategoricalFields.Add(Field("race_ethnicity", "group A", "group B", "group C", "group D", "group E"));
        info.CategoricalFields.Add(Field(
            "parental_level_of_education",
            "associate's degree", "bachelor's degree", "high school", "master's degree", "some college", "some high school"));
        info.CategoricalFields.Add(Field("lunch", "free/reduced", "standard"));
        info.CategoricalFields.Add(Field("test_preparation_course", "completed", "none"));
        info.NumericFields.Add(new NumericField { Name = "reading_score", Min = 0, Max = 100 });
        info.NumericFields.Add(new NumericField { Name = "writing_score", Min = 0, Max = 100 });
        return info;
    }

    private static CategoricalField Field(string name, params string[] values)
    {
        var field = new CategoricalField { Name = name };
        field.AllowedValues.Add(values);
        return field;
    }
}
