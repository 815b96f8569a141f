using System.Globalization;
using System.Net;
using StudentPerformance.Delivery.Tests.Docker;

namespace StudentPerformance.Delivery.Tests;

/// <summary>
/// docker-compose.yml with the local profile, run by Debian's docker-compose 1.29 against images built here:
/// predictor, deployer (watching the profile's registry) and the registry come up and go away again.
/// </summary>
[Collection(BuiltImagesDefinition.Name)]
public sealed class ComposeTests(PredictorImageFixture predictorImage) : IAsyncLifetime
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromSeconds(90);

    private readonly string _project = DockerCli.UniqueName("delivery-compose").Replace("-", "", StringComparison.Ordinal);
    private readonly string _deployerImage = DockerCli.UniqueName("delivery-deployer") + ":test";
    private readonly string _stateDir = Directory.CreateTempSubdirectory("delivery-deployer-state-").FullName;
    private readonly int _grpcPort = DockerCli.FreePort();
    private readonly int _httpPort = DockerCli.FreePort();
    private readonly int _registryPort = DockerCli.FreePort();
    private readonly int _adminPort = DockerCli.FreePort();

    public async Task InitializeAsync()
    {
        await ImageBuild.BuildDeployerAsync(_deployerImage);
        // The deployer runs as uid 1654; the state folder stands in for /var/lib/student-performance-deployer.
        File.SetUnixFileMode(_stateDir, (UnixFileMode)0b111_111_111);
    }

    [Fact]
    public async Task UpLocalProfile_AllServicesAnswer_DownRemovesThem()
    {
        // Arrange
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        try
        {
            // Act
            (await ComposeAsync("--profile", "local", "up", "--detach", "--no-build")).EnsureSuccess();

            // Assert: the predictor serves on the published port, the registry answers the Distribution API,
            // and the deployer is up with its admin endpoint on loopback.
            using var predictor = new PredictorEndpoint(_grpcPort);
            await predictor.WaitUntilServingAsync(UpTimeout, () => LogsAsync("predictor"));
            await Wait.UntilAsync(
                async () => (await http.GetAsync(new Uri($"http://127.0.0.1:{_registryPort}/v2/"))).StatusCode == HttpStatusCode.OK,
                UpTimeout,
                "registry /v2/",
                () => LogsAsync("registry"));
            await Wait.UntilAsync(
                async () => (await http.GetAsync(new Uri($"http://127.0.0.1:{_adminPort}/healthz"))).IsSuccessStatusCode,
                UpTimeout,
                "deployer /healthz",
                () => LogsAsync("deployer"));
            Assert.Equal(3, (await ContainersAsync()).Count);
        }
        finally
        {
            // Act: tear down.
            (await ComposeAsync("--profile", "local", "down", "--volumes", "--remove-orphans")).EnsureSuccess();
        }

        // Assert
        Assert.Empty(await ContainersAsync());
    }

    public async Task DisposeAsync()
    {
        await ComposeAsync("--profile", "local", "down", "--volumes", "--remove-orphans");
        await DockerCli.RemoveImageAsync(_deployerImage);
        Directory.Delete(_stateDir, recursive: true);
    }

    private async Task<CommandResult> ComposeAsync(params string[] arguments)
    {
        var environment = new Dictionary<string, string>
        {
            ["COMPOSE_PROJECT_NAME"] = _project,
            ["PREDICTOR_IMAGE"] = predictorImage.Image,
            ["DEPLOYER_IMAGE"] = _deployerImage,
            ["REGISTRY_IMAGE"] = Environment.GetEnvironmentVariable("REGISTRY_IMAGE") is { Length: > 0 } registry ? registry : "registry:2",
            ["PREDICTOR_CONTAINER_NAME"] = _project + "-predictor",
            ["PREDICTOR_BIND"] = "127.0.0.1",
            ["PREDICTOR_GRPC_PORT"] = Port(_grpcPort),
            ["PREDICTOR_HTTP_PORT"] = Port(_httpPort),
            ["REGISTRY_PORT"] = Port(_registryPort),
            ["DEPLOYER_ADMIN_PORT"] = Port(_adminPort),
            ["DEPLOYER_STATE_DIR"] = _stateDir,
            ["DEPLOYER_REGISTRY_KIND"] = "Oci",
            ["DEPLOYER_REGISTRY_ENDPOINT"] = $"http://127.0.0.1:{_registryPort}",
            ["DOCKER_GID"] = await DockerSocketGroupAsync(),
        };
        return await Command.RunAsync(
            "docker-compose",
            ["--file", Path.Combine(RepoPaths.Root, "docker-compose.yml"), .. arguments],
            TimeSpan.FromMinutes(3),
            environment);
    }

    private async Task<IReadOnlyList<string>> ContainersAsync()
    {
        var ps = await DockerCli.RunAsync(
            "ps", "--all", "--quiet", "--filter", $"label=com.docker.compose.project={_project}");
        return ps.EnsureSuccess().StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private async Task<string> LogsAsync(string service) =>
        (await ComposeAsync("--profile", "local", "logs", "--no-color", "--tail", "40", service)).Tail(40);

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The group id that owns the engine's socket, which the deployer container joins.</summary>
    private static async Task<string> DockerSocketGroupAsync()
    {
        var socket = new Uri(Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host && host.StartsWith("unix://", StringComparison.Ordinal)
            ? host
            : "unix:///var/run/docker.sock").AbsolutePath;
        var stat = await Command.RunAsync("stat", ["--format", "%g", socket], TimeSpan.FromSeconds(10));
        return stat.EnsureSuccess().StdOut.Trim();
    }
}
