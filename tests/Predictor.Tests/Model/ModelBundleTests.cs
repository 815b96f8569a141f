using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Tests.Model;

[Collection(ReferenceModelGroup.Name)]
public sealed class ModelBundleTests(ReferenceModelFixture fixture)
{
    private static readonly StudentFeatures Student = new("female", "group B", "bachelor's degree", "standard", "none", 72, 74);

    [Fact]
    public void Load_TrainedFile_ExposesVersionAndMetadata()
    {
        Assert.Equal(0, fixture.ExitCode);
        var bundle = ModelBundle.Load(fixture.ModelPath);

        Assert.Matches("^[0-9a-f]{16}$", bundle.Version);
        Assert.Equal(ReferenceModelFixture.TrainedAt, bundle.Metadata.TrainedAt);
        Assert.Equal("stud.csv", bundle.Metadata.DataName);
        Assert.Equal("802478d1fb131fea8481d61c88e74d2333d3e5580ff1c13483dda971eed8f880", bundle.Metadata.DataSha256);
        Assert.Equal(800, bundle.Metadata.RowsTrain);
        Assert.Equal(200, bundle.Metadata.RowsTest);
        Assert.Equal(["group A", "group B", "group C", "group D", "group E"], bundle.Metadata.CategoricalFields.Single(f => f.Name == "race_ethnicity").AllowedValues);
    }

    [Fact]
    public void Predict_TypicalStudent_ReturnsPlausibleScore()
    {
        var bundle = fixture.Bundle!;

        var score = bundle.Predict(Student);

        Assert.InRange(score, 55, 85);
    }
}
