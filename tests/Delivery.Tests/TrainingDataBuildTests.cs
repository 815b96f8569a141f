using StudentPerformance.Delivery.Tests.Docker;

namespace StudentPerformance.Delivery.Tests;

/// <summary>
/// An image without a good model must not exist: the build trains the model and fails when the data is missing
/// or broken (the seed once shipped an image whose model .gitignore had dropped).
/// </summary>
public sealed class TrainingDataBuildTests : IDisposable
{
    private const string SampleData = "data/sample/students.csv";
    private readonly string _tree = RepoPaths.CopyTree();
    private readonly string _tag = DockerCli.UniqueName("delivery-broken") + ":test";

    [Fact]
    public async Task Build_TrainingDataMissing_Fails()
    {
        // Arrange
        File.Delete(Path.Combine(_tree, SampleData));

        // Act
        var build = await ImageBuild.BuildAsync(ImageBuild.PredictorDockerfile, _tag, context: _tree);

        // Assert
        Assert.False(build.Succeeded, "the build succeeded without training data:\n" + build.Tail());
        Assert.Contains(SampleData, build.StdErr, StringComparison.Ordinal);
        Assert.False(await ImageExistsAsync());
    }

    [Fact]
    public async Task Build_TrainingDataBroken_FailsInTrainStep()
    {
        // Arrange: the right header over rows that are not data.
        var path = Path.Combine(_tree, SampleData);
        var header = File.ReadLines(path).First();
        await File.WriteAllTextAsync(path, header + "\n" + string.Join('\n', Enumerable.Repeat("garbage,not,a,row", 50)) + "\n");

        // Act
        var build = await ImageBuild.BuildAsync(ImageBuild.PredictorDockerfile, _tag, context: _tree);

        // Assert: it got as far as training (so the failure is the data's, not a compile error) and stopped there.
        Assert.False(build.Succeeded, "the build succeeded with broken training data:\n" + build.Tail());
        Assert.Matches(@"ERROR:.*Predictor\.Training\.dll train", build.StdErr);
        Assert.False(await ImageExistsAsync());
    }

    [Fact]
    public async Task Build_TrainingDataTooSmall_FailsInTrainStep()
    {
        // Arrange: valid rows, but too few to train a model that passes the quality floor.
        var path = Path.Combine(_tree, SampleData);
        var lines = File.ReadLines(path).Take(4).ToList();
        await File.WriteAllLinesAsync(path, lines);

        // Act
        var build = await ImageBuild.BuildAsync(ImageBuild.PredictorDockerfile, _tag, context: _tree);

        // Assert
        Assert.False(build.Succeeded, "the build succeeded with three rows of training data:\n" + build.Tail());
        Assert.Matches(@"ERROR:.*Predictor\.Training\.dll train", build.StdErr);
    }

    public void Dispose()
    {
        DockerCli.RemoveImageAsync(_tag).GetAwaiter().GetResult();
        Directory.Delete(_tree, recursive: true);
    }

    private async Task<bool> ImageExistsAsync() => (await DockerCli.RunAsync("image", "inspect", _tag)).Succeeded;
}
