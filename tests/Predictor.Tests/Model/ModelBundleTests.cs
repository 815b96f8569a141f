using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Tests.Model;

[Collection(ReferenceModelGroup.Name)]
public sealed class ModelBundleTests(ReferenceModelFixture fixture)
{
    private static readonly StudentFeatures Typical = new("female", "group B", "bachelor's degree", "standard", "none", 72, 74);

    [Fact]
    public void Load_TrainedFile_RoundTripsTheMetadata()
    {
        var bundle = ModelBundle.Load(fixture.ModelPath);
        var metadata = bundle.Metadata;

        Assert.Matches("^[0-9a-f]{16}$", bundle.Version);
        Assert.Equal(fixture.Run.Summary.GetProperty("model_version").GetString(), bundle.Version);
        Assert.Equal(Support.TrainedModels.TrainedAt, metadata.TrainedAt);
        Assert.Equal("stud.csv", metadata.DataName);
        Assert.Equal("802478d1fb131fea8481d61c88e74d2333d3e5580ff1c13483dda971eed8f880", metadata.DataSha256);
        Assert.Equal(800, metadata.RowsTrain);
        Assert.Equal(200, metadata.RowsTest);
        Assert.Contains("SDCA", metadata.Algorithm, StringComparison.Ordinal);
        Assert.Equal(fixture.Run.Summary.GetProperty("r2").GetDouble(), metadata.Holdout.R2, 12);
        Assert.Equal(fixture.Run.Summary.GetProperty("cv_r2_mean").GetDouble(), metadata.CrossValidation.R2Mean, 12);
        Assert.Equal(5, metadata.CrossValidation.Folds);
        Assert.Equal(
            ["gender", "race_ethnicity", "parental_level_of_education", "lunch", "test_preparation_course"],
            metadata.CategoricalFields.Select(f => f.Name));
        Assert.Equal(["female", "male"], metadata.CategoricalFields[0].AllowedValues);
        Assert.Equal(["group A", "group B", "group C", "group D", "group E"], metadata.CategoricalFields[1].AllowedValues);
        Assert.Equal(6, metadata.CategoricalFields[2].AllowedValues.Count);
        Assert.Equal(["free/reduced", "standard"], metadata.CategoricalFields[3].AllowedValues);
        Assert.Equal(["completed", "none"], metadata.CategoricalFields[4].AllowedValues);
        Assert.Equal(
            [new NumericField("reading_score", 0, 100), new NumericField("writing_score", 0, 100)],
            metadata.NumericFields);
    }

    [Fact]
    public void Load_SameFileTwice_SameVersionAndPredictions()
    {
        var again = ModelBundle.Load(fixture.ModelPath);

        Assert.Equal(fixture.Bundle.Version, again.Version);
        Assert.Equal(fixture.Bundle.Predict(Typical), again.Predict(Typical));
    }

    [Fact]
    public void Predict_KnownEffects_MoveTheScoreTheRightWay()
    {
        var bundle = fixture.Bundle;

        var typical = bundle.Predict(Typical);
        var freeLunch = bundle.Predict(Typical with { Lunch = "free/reduced" });
        var strongerWriter = bundle.Predict(Typical with { ReadingScore = 90, WritingScore = 92 });

        Assert.InRange(typical, 55, 85);
        Assert.True(freeLunch < typical);
        Assert.True(strongerWriter > typical);
    }

    [Fact]
    public void Predict_ExtremeInputs_ClampedToZeroToHundred()
    {
        var bundle = fixture.Bundle;
        var low = new StudentFeatures("female", "group A", "high school", "free/reduced", "none", 0, 0);
        var high = new StudentFeatures("male", "group E", "master's degree", "standard", "completed", 100, 100);

        Assert.Equal(0f, bundle.Predict(low));
        Assert.Equal(100f, bundle.Predict(high));
    }

    [Fact]
    public void Predict_UnknownCategory_ThrowsNamingTheFieldAndAllowedValues()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Bundle.Predict(Typical with { Lunch = "Standard" }));

        Assert.Equal("lunch", error.ParamName);
        Assert.Contains("free/reduced, standard", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(-1f)]
    [InlineData(100.5f)]
    [InlineData(float.PositiveInfinity)]
    public void Predict_ScoreOutsideRange_ThrowsNamingTheField(float score)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Bundle.Predict(Typical with { WritingScore = score }));

        Assert.Equal("writing_score", error.ParamName);
    }

    [Fact]
    public void PredictBatch_ManyStudents_MatchesPredictInOrder()
    {
        var students = fixture.AllRows.Select(r => r.Features).ToArray();
        var scores = new float[students.Length];

        fixture.Bundle.PredictBatch(students, scores);

        for (var i = 0; i < students.Length; i++)
        {
            Assert.Equal(fixture.Bundle.Predict(students[i]), scores[i]);
        }
    }

    [Fact]
    public void PredictBatch_TooFewScoreSlots_Throws()
    {
        var students = new[] { Typical, Typical };

        Assert.Throws<ArgumentException>(() => fixture.Bundle.PredictBatch(students, new float[1]));
    }

    [Fact]
    public void Predict_ManyThreadsAtOnce_SameAnswersAsOneThread()
    {
        var students = fixture.AllRows.Select(r => r.Features).ToArray();
        var expected = students.Select(s => fixture.Bundle.Predict(s)).ToArray();
        var results = new float[8][];

        Parallel.For(0, results.Length, t =>
        {
            results[t] = new float[students.Length];
            for (var i = 0; i < students.Length; i++)
            {
                results[t][i] = fixture.Bundle.Predict(students[i]);
            }
        });

        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public void Predict_HotPath_AllocatesNothing()
    {
        var bundle = fixture.Bundle;
        var students = fixture.AllRows.Select(r => r.Features).ToArray();
        var scores = new float[students.Length];
        bundle.PredictBatch(students, scores);
        var sum = 0f;

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < students.Length; i++)
        {
            sum += bundle.Predict(students[i]);
        }

        bundle.PredictBatch(students, scores);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(sum > 0);
    }
}
