using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Predictor.Tests.Support;
using StudentPerformance.Predictor.Training;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>
/// One model, trained through the real <c>train</c> command on the reference data, and one running server that
/// the front-door tests share. Tests that need a differently configured server start their own from
/// <see cref="ModelPath"/>.
/// </summary>
public sealed class FrontDoorFixture : IAsyncLifetime
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("front-door-tests-").FullName;

    public string ModelPath => Path.Combine(Directory, "model.zip");

    public FrontDoorServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var output = new StringWriter();
        var exit = await TrainCommand.RunAsync(
            ["--data", RepoPaths.StudCsv, "--test-rows", RepoPaths.StudTestRows, "--out", ModelPath],
            new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 9, 0, 0, TimeSpan.Zero)),
            output,
            output);
        if (exit != 0)
        {
            throw new InvalidOperationException($"training the test model failed ({exit}):\n{output}");
        }

        Server = await FrontDoorServer.StartAsync(ModelPath);
    }

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; never fail a run over cleanup.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class FrontDoorGroup : ICollectionFixture<FrontDoorFixture>
{
    public const string Name = "front door";
}
