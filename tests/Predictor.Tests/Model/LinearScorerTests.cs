using Microsoft.ML;
using StudentPerformance.Predictor.Model;

using StudentPerformance.Predictor.Training;

namespace StudentPerformance.Predictor.Tests.Model;

/// <summary>
/// The scorer served from the saved weights must be ML.NET's model, not an approximation of it: each test loads
/// ML.NET's own model from the same file (the model of record) and compares.
/// </summary>
[Collection(ReferenceModelGroup.Name)]
public sealed class LinearScorerTests(ReferenceModelFixture fixture)
{
    [Fact]
    public void Score_SavedWeightsOnEveryReferenceRow_MatchMlNetWithin1e4()
    {
        var ml = new MLContext(seed: 0);
        var (model, _) = ModelSaver.ReadMlNetModel(fixture.ModelPath, ml);
        var saved = ModelFile.Read(fixture.ModelPath).Scorer;
        var rows = fixture.AllRows;
        var data = ml.Data.LoadFromEnumerable(rows.Select(r => StudentRecord.From(r.Features)));
        var mlNet = ml.Data.CreateEnumerable<StudentPrediction>(model.Transform(data), reuseRowObject: false)
            .Select(p => p.Score).ToArray();

        Assert.Equal(1000, mlNet.Length);
        for (var i = 0; i < rows.Count; i++)
        {
            var folded = saved.Score(rows[i].Features);
            Assert.True(Math.Abs(folded - mlNet[i]) <= 1e-4, $"row {i}: saved scorer {folded}, ML.NET {mlNet[i]}");
            var served = fixture.Bundle.Predict(rows[i].Features);
            Assert.True(Math.Abs(served - Math.Clamp(mlNet[i], 0, 100)) <= 1e-4, $"row {i}: served {served}, ML.NET {mlNet[i]}");
        }
    }

    [Fact]
    public void Score_PredictionEngine_AgreesOnASingleRow()
    {
        var ml = new MLContext(seed: 0);
        var (model, schema) = ModelSaver.ReadMlNetModel(fixture.ModelPath, ml);
        using var engine = ml.Model.CreatePredictionEngine<StudentRecord, StudentPrediction>(model, inputSchema: schema);
        var student = fixture.AllRows[0].Features;

        var expected = engine.Predict(StudentRecord.From(student)).Score;

        Assert.Equal(expected, fixture.Bundle.Predict(student), 4);
    }

    [Fact]
    public void FromModel_SavedMlNetModel_FoldsToExactlyTheSavedWeights()
    {
        var ml = new MLContext(seed: 0);
        var (model, schema) = ModelSaver.ReadMlNetModel(fixture.ModelPath, ml);

        var refolded = LinearFold.FromModel(model, schema).ToWeights();
        var saved = ModelFile.Read(fixture.ModelPath).Scorer.ToWeights();

        Assert.Equal(saved.Bias, refolded.Bias);
        Assert.Equal(saved.Numeric, refolded.Numeric);
        Assert.Equal(saved.Categorical.Select(c => c.Name), refolded.Categorical.Select(c => c.Name));
        Assert.Equal(saved.Categorical.SelectMany(c => c.Values), refolded.Categorical.SelectMany(c => c.Values));
        Assert.Equal(saved.Categorical.SelectMany(c => c.Weights), refolded.Categorical.SelectMany(c => c.Weights));
    }

    [Fact]
    public void FromWeights_RoundTrip_ScoresTheSame()
    {
        var scorer = ModelFile.Read(fixture.ModelPath).Scorer;

        var copy = LinearScorer.FromWeights(scorer.ToWeights());

        Assert.All(fixture.AllRows, r => Assert.Equal(scorer.Score(r.Features), copy.Score(r.Features)));
    }

    [Fact]
    public void FromWeights_NonFiniteWeight_ThrowsNamingTheField()
    {
        var weights = ModelFile.Read(fixture.ModelPath).Scorer.ToWeights();
        var lunch = weights.Categorical[3];
        var broken = weights with
        {
            Categorical = [.. weights.Categorical.Select(c => c == lunch ? c with { Weights = [double.NaN, 1] } : c)],
        };

        var error = Assert.Throws<InvalidDataException>(() => LinearScorer.FromWeights(broken));

        Assert.Contains("lunch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromWeights_FieldsOutOfOrder_Throws()
    {
        var weights = ModelFile.Read(fixture.ModelPath).Scorer.ToWeights();
        var swapped = weights with { Numeric = [.. weights.Numeric.Reverse()] };

        var error = Assert.Throws<InvalidDataException>(() => LinearScorer.FromWeights(swapped));

        Assert.Contains("reading_score", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromWeights_MoreValuesThanWeights_Throws()
    {
        var weights = ModelFile.Read(fixture.ModelPath).Scorer.ToWeights();
        var gender = weights.Categorical[0];
        var broken = weights with
        {
            Categorical = [gender with { Values = [.. gender.Values, "other"] }, .. weights.Categorical.Skip(1)],
        };

        var error = Assert.Throws<InvalidDataException>(() => LinearScorer.FromWeights(broken));

        Assert.Contains("gender", error.Message, StringComparison.Ordinal);
    }
}
