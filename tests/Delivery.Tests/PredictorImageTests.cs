using Grpc.Core;
using StudentPerformance.Delivery.Tests.Docker;
using StudentPerformance.V1;

namespace StudentPerformance.Delivery.Tests;

/// <summary>The predictor image as an operator runs it: ports on the host, health, predictions, user, size.</summary>
[Collection(BuiltImagesDefinition.Name)]
public sealed class PredictorImageTests(PredictorImageFixture fixture)
{
    private const int GrpcPort = 8000;
    private const int HttpPort = 8080;
    // The serving publish output and the model, without ML.NET (trained in the build stage, never shipped): 6.18 MB
    // measured; 18.7 MB while the serving project still referenced Microsoft.ML.
    private const long AppLayersLimitBytes = 8L * 1000 * 1000;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Run_PublishedGrpcPort_ServesHealthAndPredict()
    {
        // Arrange
        await using var container = await RunningContainer.StartAsync(fixture.Image, [GrpcPort, HttpPort]);
        using var predictor = new PredictorEndpoint(await container.HostPortAsync(GrpcPort));
        await predictor.WaitUntilServingAsync(StartTimeout, container.LogsAsync);

        // Act
        var reply = await predictor.Predictor.PredictAsync(new PredictRequest { Student = PredictorEndpoint.SampleStudent() });

        // Assert
        Assert.InRange(reply.MathScore, 0, 100);
        Assert.False(string.IsNullOrWhiteSpace(reply.ModelVersion), "the reply names no model version");
    }

    [Fact]
    public async Task Run_InvalidStudent_ReturnsInvalidArgument()
    {
        // Arrange
        await using var container = await RunningContainer.StartAsync(fixture.Image, [GrpcPort]);
        using var predictor = new PredictorEndpoint(await container.HostPortAsync(GrpcPort));
        await predictor.WaitUntilServingAsync(StartTimeout, container.LogsAsync);
        var student = PredictorEndpoint.SampleStudent();
        student.Gender = "not a gender";

        // Act
        var error = await Assert.ThrowsAsync<RpcException>(
            () => predictor.Predictor.PredictAsync(new PredictRequest { Student = student }).ResponseAsync);

        // Assert: the container keeps serving after bad input.
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.True(await predictor.IsServingAsync());
    }

    [Fact]
    public async Task Run_Process_RunsAsNonRootUser1654()
    {
        // Arrange
        await using var container = await RunningContainer.StartAsync(fixture.Image, [GrpcPort]);
        using var predictor = new PredictorEndpoint(await container.HostPortAsync(GrpcPort));
        await predictor.WaitUntilServingAsync(StartTimeout, container.LogsAsync);

        // Act: the uid of every process in the container, as the host's kernel sees it.
        var top = (await DockerCli.RunAsync("top", container.Name, "-o", "pid,uid")).EnsureSuccess().StdOut;
        var uids = top.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])
            .ToList();

        // Assert
        Assert.NotEmpty(uids);
        Assert.All(uids, uid => Assert.Equal("1654", uid));
        Assert.Equal("1654:1654", await container.InspectAsync("{{.Config.User}}"));
    }

    [Fact]
    public async Task Run_DockerHealthcheck_TurnsHealthy()
    {
        // Arrange
        await using var container = await RunningContainer.StartAsync(fixture.Image, [GrpcPort]);

        // Act: Docker runs the image's own HEALTHCHECK (the app's probe mode, no shell in the image).
        await Wait.UntilAsync(
            async () => await container.InspectAsync("{{.State.Health.Status}}") == "healthy",
            StartTimeout,
            "Docker health status 'healthy'",
            async () => await container.InspectAsync("{{json .State.Health}}") + "\n" + await container.LogsAsync());

        // Assert
        Assert.Equal("0", await container.InspectAsync("{{.RestartCount}}"));
    }

    [Fact]
    public async Task Run_ModelMissing_ExitsWithFailureInsteadOfServing()
    {
        // Arrange: the seed's failure, an image whose model is not where the app looks.
        var noModelImage = await ImageBuild.BuildFromTextAsync(
            $"FROM {fixture.Image}\nENV Predictor__ModelPath=/app/model/missing.zip\n",
            DockerCli.UniqueName("delivery-predictor-nomodel") + ":test");
        try
        {
            await using var container = await RunningContainer.StartAsync(noModelImage, [GrpcPort]);

            // Act
            await Wait.UntilAsync(
                async () => await container.InspectAsync("{{.State.Status}}") == "exited",
                StartTimeout,
                "container without a model exits",
                container.LogsAsync);

            // Assert
            Assert.NotEqual("0", await container.InspectAsync("{{.State.ExitCode}}"));
            Assert.Contains("missing.zip", await container.LogsAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await DockerCli.RemoveImageAsync(noModelImage);
        }
    }

    [Fact]
    public async Task Build_OtherTrainSeed_ServesOtherModelVersion()
    {
        // Arrange: the deployer's tests roll out v1 and v2 images that differ only in TRAIN_SEED.
        var otherImage = DockerCli.UniqueName("delivery-predictor-seed") + ":test";
        try
        {
            await ImageBuild.BuildPredictorAsync(otherImage, trainSeed: 2);
            await using var first = await RunningContainer.StartAsync(fixture.Image, [GrpcPort]);
            await using var second = await RunningContainer.StartAsync(otherImage, [GrpcPort]);

            // Act
            var firstVersion = await ModelVersionAsync(first);
            var secondVersion = await ModelVersionAsync(second);

            // Assert
            Assert.NotEqual(firstVersion, secondVersion);
        }
        finally
        {
            await DockerCli.RemoveImageAsync(otherImage);
        }
    }

    [Fact]
    public async Task Image_AppLayers_AreAtMost8MB()
    {
        // Arrange
        var runtimeImage = await ImageBuild.RuntimeBaseImageAsync(ImageBuild.PredictorDockerfile);

        // Act
        var appBytes = await DockerCli.ImageSizeAsync(fixture.Image) - await DockerCli.ImageSizeAsync(runtimeImage);

        // Assert
        Assert.InRange(appBytes, 1, AppLayersLimitBytes);
    }

    [Fact]
    public async Task Image_App_ShipsTheServerAndModelButNoMlNetOrTrainer()
    {
        // Arrange: the image's /app, copied out of a created (never started) container.
        var name = DockerCli.UniqueName("delivery-app");
        var copy = Directory.CreateTempSubdirectory("delivery-app-").FullName;
        try
        {
            (await DockerCli.RunAsync("create", "--name", name, fixture.Image)).EnsureSuccess();

            // Act
            (await DockerCli.RunAsync("cp", name + ":/app", copy)).EnsureSuccess();
            var files = Directory.EnumerateFiles(Path.Combine(copy, "app"), "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(Path.Combine(copy, "app"), f))
                .ToList();

            // Assert
            Assert.Contains("Predictor.dll", files);
            Assert.Contains(Path.Combine("model", "model.zip"), files);
            Assert.DoesNotContain(files, f => f.StartsWith("Microsoft.ML", StringComparison.Ordinal));
            Assert.DoesNotContain(files, f => f.StartsWith("Predictor.Training", StringComparison.Ordinal));
        }
        finally
        {
            await DockerCli.RunAsync("rm", "--force", name);
            Directory.Delete(copy, recursive: true);
        }
    }

    private static async Task<string> ModelVersionAsync(RunningContainer container)
    {
        using var predictor = new PredictorEndpoint(await container.HostPortAsync(GrpcPort));
        await predictor.WaitUntilServingAsync(StartTimeout, container.LogsAsync);
        var info = await predictor.Predictor.GetModelInfoAsync(new GetModelInfoRequest());
        Assert.False(string.IsNullOrWhiteSpace(info.ModelVersion));
        return info.ModelVersion;
    }
}
