using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Grpc.Core;
using Microsoft.Extensions.Options;
using StudentPerformance.Features;
using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Shadow;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Grpc;

/// <summary>
/// studentperformance.v1.Predictor. Registered as a singleton: it holds no per-call state, so a call costs the
/// request and response messages and nothing more. It logs nothing per call at Information unless
/// <see cref="PredictorOptions.LogInputs"/> is on. Valid inputs go into the <see cref="InputSample"/> (a struct
/// copy into a ring) unless a batch carries <see cref="ShadowSample.ReplayHeader"/>.
/// </summary>
public sealed partial class PredictorService(
    ServingState state,
    InputSample sample,
    IOptions<PredictorOptions> options,
    TimeProvider time,
    ILogger<PredictorService> logger) : StudentPerformance.V1.Predictor.PredictorBase
{
    // Cancellation is checked between chunks of this many rows, so a cancelled 10,000-row batch stops early.
    private const int BatchChunk = 1024;

    private readonly int _maxBatchSize = options.Value.MaxBatchSize;
    private readonly bool _logInputs = options.Value.LogInputs;

    public override Task<PredictResponse> Predict(PredictRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = ReadyModel();

        FieldViolations? violations = null;
        if (!model.Schema.TryMap(request.Student, FieldPath.Single, out var student, ref violations))
        {
            Reject(nameof(Predict), violations!);
        }

        if (_logInputs)
        {
            LogInputs(student, 0);
        }

        sample.Record(in student);
        var score = model.Bundle.Predict(in student);
        return Task.FromResult(new PredictResponse { MathScore = score, ModelVersion = model.Version });
    }

    public override Task<PredictBatchResponse> PredictBatch(PredictBatchRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var model = ReadyModel();
        var count = request.Students.Count;
        if (count == 0 || count > _maxBatchSize)
        {
            var violations = new FieldViolations();
            violations.Add("students", count == 0
                ? $"must hold at least 1 student (at most {_maxBatchSize})"
                : $"holds {count} students; one call may carry at most {_maxBatchSize}");
            Reject(nameof(PredictBatch), violations);
        }

        var students = ArrayPool<StudentFeatures>.Shared.Rent(count);
        var scores = ArrayPool<float>.Shared.Rent(count);
        try
        {
            MapAll(model.Schema, request, students, context);
            if (sample.Enabled && context.RequestHeaders.Get(ShadowSample.ReplayHeader) is null)
            {
                sample.Record(students.AsSpan(0, count));
            }

            var response = new PredictBatchResponse { ModelVersion = model.Version };
            response.MathScores.Capacity = count;
            for (var start = 0; start < count; start += BatchChunk)
            {
                ThrowIfCancelled(context);
                var length = Math.Min(BatchChunk, count - start);
                model.Bundle.PredictBatch(students.AsSpan(start, length), scores.AsSpan(start, length));
                for (var i = start; i < start + length; i++)
                {
                    response.MathScores.Add(scores[i]);
                }
            }

            return Task.FromResult(response);
        }
        finally
        {
            ArrayPool<StudentFeatures>.Shared.Return(students, clearArray: true);
            ArrayPool<float>.Shared.Return(scores);
        }
    }

    public override Task<ModelInfo> GetModelInfo(GetModelInfoRequest request, ServerCallContext context) =>
        ReadyModel().InfoTask;

    private void MapAll(StudentSchema schema, PredictBatchRequest request, StudentFeatures[] students, ServerCallContext context)
    {
        FieldViolations? violations = null;
        var count = request.Students.Count;
        for (var i = 0; i < count; i++)
        {
            if (i % BatchChunk == 0)
            {
                ThrowIfCancelled(context);
            }

            schema.TryMap(request.Students[i], new FieldPath(i), out students[i], ref violations);
        }

        if (violations is not null)
        {
            Reject(nameof(PredictBatch), violations);
        }

        if (_logInputs)
        {
            for (var i = 0; i < count; i++)
            {
                LogInputs(students[i], i);
            }
        }
    }

    private ServingModel ReadyModel()
    {
        var model = state.Model;
        if (model is null)
        {
            RpcErrors.ThrowModelNotReady();
        }

        return model;
    }

    private void ThrowIfCancelled(ServerCallContext context)
    {
        if (context.CancellationToken.IsCancellationRequested)
        {
            RpcErrors.ThrowCancelled(context, time);
        }
    }

    [DoesNotReturn]
    private void Reject(string method, FieldViolations violations)
    {
        Log.InputRejected(logger, method, violations.Total, violations.Items[0].Field);
        RpcErrors.ThrowInvalidArgument(violations);
    }

    private void LogInputs(in StudentFeatures s, int index) =>
        Log.Inputs(logger, index, s.Gender, s.RaceEthnicity, s.ParentalLevelOfEducation, s.Lunch, s.TestPreparationCourse, s.ReadingScore, s.WritingScore);

    private static partial class Log
    {
        // Field names only: the rejected values may describe a person.
        [LoggerMessage(1001, LogLevel.Debug, "{Method} rejected: {Violations} invalid field(s), first {Field}")]
        public static partial void InputRejected(ILogger logger, string method, int violations, string field);

        [LoggerMessage(1002, LogLevel.Information,
            "Input {Index}: gender={Gender} race_ethnicity={RaceEthnicity} parental_level_of_education={Education} lunch={Lunch} test_preparation_course={Preparation} reading_score={Reading} writing_score={Writing}")]
        public static partial void Inputs(ILogger logger, int index, string gender, string raceEthnicity, string education, string lunch, string preparation, float reading, float writing);
    }
}
