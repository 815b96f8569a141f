using StudentPerformance.Predictor.Tests.Hosting;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Grpc;

[Collection(ServedPredictorGroup.Name)]
public sealed class PredictorServiceTests(ServedPredictor server)
{
    [Fact]
    public async Task Predict_ValidStudent_ReturnsScoreFromTheLoadedModel()
    {
        var info = await server.Client.GetModelInfoAsync(new GetModelInfoRequest());

        var reply = await server.Client.PredictAsync(new PredictRequest { Student = ServedPredictor.ValidStudent() });

        Assert.InRange(reply.MathScore, 0, 100);
        Assert.Equal(info.ModelVersion, reply.ModelVersion);
        Assert.Matches("^[0-9a-f]{16}$", reply.ModelVersion);
    }

    [Fact]
    public async Task Predict_HigherReadingAndWriting_PredictsHigherMath()
    {
        var low = ServedPredictor.ValidStudent();
        low.ReadingScore = 30;
        low.WritingScore = 30;
        var high = ServedPredictor.ValidStudent();
        high.ReadingScore = 95;
        high.WritingScore = 95;

        var lowReply = await server.Client.PredictAsync(new PredictRequest { Student = low });
        var highReply = await server.Client.PredictAsync(new PredictRequest { Student = high });

        Assert.True(highReply.MathScore > lowReply.MathScore + 20, $"{highReply.MathScore} vs {lowReply.MathScore}");
    }

    [Fact]
    public async Task Predict_CategoricalsInAnotherCase_MapToTheCanonicalValues()
    {
        var canonical = ServedPredictor.ValidStudent();
        var shouted = ServedPredictor.ValidStudent();
        shouted.Gender = "FEMALE";
        shouted.RaceEthnicity = "Group b";
        shouted.ParentalLevelOfEducation = "Bachelor's Degree";
        shouted.Lunch = "STANDARD";
        shouted.TestPreparationCourse = "None";

        var expected = await server.Client.PredictAsync(new PredictRequest { Student = canonical });
        var actual = await server.Client.PredictAsync(new PredictRequest { Student = shouted });

        Assert.Equal(expected.MathScore, actual.MathScore);
    }

    [Fact]
    public async Task PredictBatch_DistinctStudents_AnswersInRequestOrder()
    {
        var request = new PredictBatchRequest();
        for (var i = 0; i < 50; i++)
        {
            var student = ServedPredictor.ValidStudent();
            student.ReadingScore = 20 + i;
            student.WritingScore = 90 - i;
            student.Gender = i % 2 == 0 ? "female" : "male";
            request.Students.Add(student);
        }

        var batch = await server.Client.PredictBatchAsync(request);

        Assert.Equal(request.Students.Count, batch.MathScores.Count);
        for (var i = 0; i < request.Students.Count; i++)
        {
            var single = await server.Client.PredictAsync(new PredictRequest { Student = request.Students[i] });
            Assert.Equal(single.MathScore, batch.MathScores[i], 4);
        }

        Assert.Equal(request.Students.Count, batch.MathScores.Distinct().Count());
    }

    [Fact]
    public async Task PredictBatch_MaxBatchSize_IsAccepted()
    {
        var info = await server.Client.GetModelInfoAsync(new GetModelInfoRequest());
        var request = new PredictBatchRequest();
        for (var i = 0; i < info.MaxBatchSize; i++)
        {
            var student = ServedPredictor.ValidStudent();
            student.ReadingScore = i % 101;
            request.Students.Add(student);
        }

        var batch = await server.Client.PredictBatchAsync(request);

        Assert.Equal(info.MaxBatchSize, batch.MathScores.Count);
        Assert.All(batch.MathScores, score => Assert.InRange(score, 0, 100));
    }

    [Fact]
    public async Task GetModelInfo_Always_DescribesFieldsMetricsAndLimits()
    {
        var info = await server.Client.GetModelInfoAsync(new GetModelInfoRequest());

        Assert.Equal(10_000, info.MaxBatchSize);
        Assert.Equal(
            ["gender", "race_ethnicity", "parental_level_of_education", "lunch", "test_preparation_course"],
            info.CategoricalFields.Select(f => f.Name));
        Assert.Equal(["female", "male"], info.CategoricalFields[0].AllowedValues.Order());
        Assert.Contains("group E", info.CategoricalFields[1].AllowedValues);
        Assert.Contains("free/reduced", info.CategoricalFields[3].AllowedValues);
        Assert.All(info.NumericFields, field => Assert.Equal((0d, 100d), (field.Min, field.Max)));
        Assert.Equal(["reading_score", "writing_score"], info.NumericFields.Select(f => f.Name));
        Assert.InRange(info.Holdout.R2, 0.5, 1);
        Assert.True(info.CrossValidation.Folds >= 2);
        Assert.True(info.TrainingData.RowsTrain > 0);
        Assert.NotEmpty(info.TrainingData.Sha256);
        Assert.NotNull(info.TrainedAt);
    }
}
