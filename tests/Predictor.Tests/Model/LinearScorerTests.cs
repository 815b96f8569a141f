using Microsoft.ML;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Tests.Model;

/// <summary>The folded scorer must be ML.NET's model, not an approximation of it.</summary>
[Collection(ReferenceModelGroup.Name)]
public sealed class LinearScorerTests(ReferenceModelFixture fixture)
{
    [Fact]
    public void Score_EveryReferenceRow_MatchesMlNetWithin1e4()
    {
        var ml = new MLContext(seed: 0);
        var contents = ModelFile.Read(fixture.ModelPath, ml);
        var scorer = LinearScorer.FromModel(contents.Model, contents.InputSchema);
        var rows = fixture.AllRows;
        var data = ml.Data.LoadFromEnumerable(rows.Select(r => StudentRecord.From(r.Features)));
        var mlNet = ml.Data.CreateEnumerable<StudentPrediction>(contents.Model.Transform(data), reuseRowObject: false)
            .Select(p => p.Score).ToArray();

        Assert.Equal(1000, mlNet.Length);
        for (var i = 0; i < rows.Count; i++)
        {
            var folded = scorer.Score(rows[i].Features);
            Assert.True(Math.Abs(folded - mlNet[i]) <= 1e-4, $"row {i}: folded {folded}, ML.NET {mlNet[i]}");
            var served = fixture.Bundle.Predict(rows[i].Features);
            Assert.True(Math.Abs(served - Math.Clamp(mlNet[i], 0, 100)) <= 1e-4, $"row {i}: served {served}, ML.NET {mlNet[i]}");
        }
    }

    [Fact]
    public void Score_PredictionEngine_AgreesOnASingleRow()
    {
        var ml = new MLContext(seed: 0);
        var contents = ModelFile.Read(fixture.ModelPath, ml);
        using var engine = ml.Model.CreatePredictionEngine<StudentRecord, StudentPrediction>(contents.Model, inputSchema: contents.InputSchema);
        var student = fixture.AllRows[0].Features;

        var expected = engine.Predict(StudentRecord.From(student)).Score;

        Assert.Equal(expected, fixture.Bundle.Predict(student), 4);
    }
}
