using StudentPerformance.Delivery.Tests.Docker;

namespace StudentPerformance.Delivery.Tests;

/// <summary>Builds the predictor image once for the tests of the <see cref="BuiltImagesDefinition"/> collection, and removes it after.</summary>
public sealed class PredictorImageFixture : IAsyncLifetime
{
    public string Image { get; } = DockerCli.UniqueName("delivery-predictor") + ":test";

    public async Task InitializeAsync() => await ImageBuild.BuildPredictorAsync(Image);

    public async Task DisposeAsync() => await DockerCli.RemoveImageAsync(Image);
}

[CollectionDefinition(Name)]
public sealed class BuiltImagesDefinition : ICollectionFixture<PredictorImageFixture>
{
    public const string Name = "images";
}
