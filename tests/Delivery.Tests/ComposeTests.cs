using System.Globalization;
using System.Net;
using System.Text.Json;
using StudentPerformance.Delivery.Tests.Docker;
using StudentPerformance.V1;

namespace StudentPerformance.Delivery.Tests;

/// <summary>
/// docker-compose.yml with the local and observability profiles, run by Debian's docker-compose 1.29 against images
/// built here: compose starts the deployer (blue/green), the registry and Prometheus; the deployer, in its container,
/// rolls out the image pushed to that registry by creating the edge and a predictor slot itself, clients reach the
/// predictor through the edge's public ports only, and Prometheus, with the rules loaded, reports the deployer, the
/// edge's exporter and the live slot up.
/// </summary>
[Collection(BuiltImagesDefinition.Name)]
public sealed class ComposeTests(PredictorImageFixture predictorImage) : IAsyncLifetime
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan RolloutTimeout = TimeSpan.FromMinutes(3);

    private readonly string _project = DockerCli.UniqueName("delivery-compose").Replace("-", "", StringComparison.Ordinal);
    private readonly string _deployerImage = DockerCli.UniqueName("delivery-deployer") + ":test";
    private readonly string _edgeImage = DockerCli.UniqueName("delivery-edge") + ":test";
    private readonly string _prometheusImage = DockerCli.UniqueName("delivery-prometheus") + ":test";
    private readonly string _stateDir = Directory.CreateTempSubdirectory("delivery-deployer-state-").FullName;
    private readonly int _grpcPort = DockerCli.FreePort();
    private readonly int _httpPort = DockerCli.FreePort();
    private readonly int _registryPort = DockerCli.FreePort();
    private readonly int _adminPort = DockerCli.FreePort();
    private readonly int _prometheusPort = DockerCli.FreePort();
    private readonly int _edgeMetricsPort = DockerCli.FreePort();
    private readonly int[] _slotPorts = [DockerCli.FreePort(), DockerCli.FreePort(), DockerCli.FreePort(), DockerCli.FreePort()];

    // The slots' network and a /29 of its own: another test's deployer may hold the default one.
    private readonly string _slotSubnet = $"10.213.{Random.Shared.Next(128, 256)}.{Random.Shared.Next(32) * 8}/29";

    /// <summary>The deployer's containers (edge and slots) are named after the project, so they can be found and removed.</summary>
    private string PredictorName => _project + "-predictor";

    private string EdgeName => _project + "-edge";

    private string SlotNetwork => _project + "-slots";

    public async Task InitializeAsync()
    {
        await ImageBuild.BuildDeployerAsync(_deployerImage);
        await ImageBuild.BuildEdgeAsync(_edgeImage);
        await ImageBuild.BuildPrometheusAsync(_prometheusImage);
        // The deployer runs as uid 1654; the state folder stands in for /var/lib/student-performance-deployer.
        File.SetUnixFileMode(_stateDir, (UnixFileMode)0b111_111_111);
    }

    [Fact]
    public async Task UpLocalAndObservabilityProfiles_DeployerCreatesEdgeAndSlot_PredictorAnswersThroughTheEdge_PrometheusSeesEveryTargetUp()
    {
        // Arrange
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var tracked = $"127.0.0.1:{_registryPort}/student-performance:latest";

        try
        {
            // Act: compose starts the deployer and the registry; the image is pushed as CI would push it.
            (await ComposeAsync("--profile", "local", "--profile", "observability", "up", "--detach", "--no-build")).EnsureSuccess();
            await Wait.UntilAsync(
                async () => (await http.GetAsync(new Uri($"http://127.0.0.1:{_registryPort}/v2/"))).StatusCode == HttpStatusCode.OK,
                UpTimeout,
                "registry /v2/",
                () => LogsAsync("registry"));
            (await DockerCli.RunAsync("tag", predictorImage.Image, tracked)).EnsureSuccess();
            (await DockerCli.RunAsync(["push", tracked], TimeSpan.FromMinutes(3))).EnsureSuccess();

            // Assert: compose runs exactly the deployer, Prometheus and the registry, and no predictor of its own.
            Assert.Equal(["deployer", "prometheus", "registry"], await ComposeServicesAsync());

            // Assert: the deployer rolls the pushed image out into the blue slot behind the edge it created.
            await Wait.UntilAsync(
                async () => (await StatusAsync(http)) is { } status
                    && status.GetProperty("strategy").GetString() == "BlueGreen"
                    && status.GetProperty("lastRollout") is { ValueKind: JsonValueKind.Object } last
                    && last.GetProperty("outcome").GetString() == "Succeeded"
                    && status.GetProperty("rolloutInProgress").ValueKind == JsonValueKind.False
                    && status.GetProperty("liveSlot").ValueKind == JsonValueKind.String,
                RolloutTimeout,
                "deployer /status: a BlueGreen rollout Succeeded, none in progress",
                () => LogsAsync("deployer"));
            var liveSlot = (await StatusAsync(http))!.Value.GetProperty("liveSlot").GetString();
            Assert.Equal("true", await DockerCli.InspectAsync(EdgeName, "{{.State.Running}}"));
            Assert.Equal("host", await DockerCli.InspectAsync(EdgeName, "{{.HostConfig.NetworkMode}}"));
            var slot = $"{PredictorName}-{liveSlot}";
            Assert.Equal("true", await DockerCli.InspectAsync(slot, "{{.State.Running}}"));
            // gRPC, HTTP and the admin port (the shadow sample), each on loopback only.
            Assert.Equal(
                ["127.0.0.1", "127.0.0.1", "127.0.0.1"],
                (await DockerCli.InspectAsync(slot, "{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostIp}} {{end}}{{end}}"))
                    .Split(' ', StringSplitOptions.RemoveEmptyEntries));

            // Assert: gRPC and HTTP answer on the edge's public ports.
            using var predictor = new PredictorEndpoint(_grpcPort);
            await predictor.WaitUntilServingAsync(UpTimeout, () => LogsAsync("deployer"));
            var reply = await predictor.Predictor.PredictAsync(new PredictRequest { Student = PredictorEndpoint.SampleStudent() });
            Assert.InRange(reply.MathScore, 0, 100);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"http://127.0.0.1:{_httpPort}/readyz"))).StatusCode);

            // Assert: Prometheus, on loopback, has the rules loaded and scrapes the deployer, the edge and the live slot.
            var targets = new Dictionary<string, string>();
            await Wait.UntilAsync(
                async () =>
                {
                    targets = await PrometheusTargetsAsync(http);
                    return targets.Count == 3 && targets.Values.All(h => h == "up");
                },
                UpTimeout,
                "Prometheus to report the deployer, edge and predictor targets up",
                async () => $"targets: {string.Join(", ", targets.Select(t => $"{t.Key}={t.Value}"))}\n{await LogsAsync("prometheus")}");
            Assert.Equal(["deployer", "edge", "predictor"], targets.Keys.Order(StringComparer.Ordinal));
            using var rules = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{_prometheusPort}/api/v1/rules")));
            Assert.Equal(
                ["deployer", "edge", "predictor", "predictor-predict"],
                rules.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
            Assert.Equal("host", await DockerCli.InspectAsync($"{_project}_prometheus_1", "{{.HostConfig.NetworkMode}}"));
        }
        finally
        {
            // Act: tear down what compose started.
            (await ComposeAsync("--profile", "local", "--profile", "observability", "down", "--volumes", "--remove-orphans")).EnsureSuccess();
        }

        // Assert: compose's containers are gone; the edge and the slot are the deployer's and keep serving.
        Assert.Empty(await ComposeContainersAsync());
        using var afterDown = new PredictorEndpoint(_grpcPort);
        Assert.True(await afterDown.IsServingAsync());
    }

    public async Task DisposeAsync()
    {
        await ComposeAsync("--profile", "local", "--profile", "observability", "down", "--volumes", "--remove-orphans");
        // The deployer's containers are not compose's: remove them by name (edge, slots, any candidate).
        foreach (var name in await DeployerContainersAsync())
        {
            await DockerCli.RunAsync("rm", "--force", name);
        }

        await DockerCli.RunAsync("network", "rm", SlotNetwork);

        var pulled = await DockerCli.RunAsync(
            "image", "ls", "--digests", "--format", "{{.Repository}}@{{.Digest}} {{.Repository}}:{{.Tag}}",
            "--filter", $"reference=127.0.0.1:{_registryPort}/*");
        foreach (var reference in pulled.StdOut.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Where(r => !r.EndsWith("<none>", StringComparison.Ordinal)))
        {
            await DockerCli.RunAsync("rmi", reference);
        }

        await DockerCli.RemoveImageAsync(_deployerImage);
        await DockerCli.RemoveImageAsync(_edgeImage);
        await DockerCli.RemoveImageAsync(_prometheusImage);
        Directory.Delete(_stateDir, recursive: true);
    }

    private async Task<CommandResult> ComposeAsync(params string[] arguments)
    {
        var environment = new Dictionary<string, string>
        {
            ["COMPOSE_PROJECT_NAME"] = _project,
            ["PREDICTOR_IMAGE"] = predictorImage.Image,
            ["DEPLOYER_IMAGE"] = _deployerImage,
            ["EDGE_IMAGE"] = _edgeImage,
            ["PROMETHEUS_IMAGE"] = _prometheusImage,
            ["PROMETHEUS_PORT"] = Port(_prometheusPort),
            ["PROMETHEUS_SCRAPE_INTERVAL"] = "1s",
            ["EDGE_METRICS_PORT"] = Port(_edgeMetricsPort),
            ["REGISTRY_IMAGE"] = Environment.GetEnvironmentVariable("REGISTRY_IMAGE") is { Length: > 0 } registry ? registry : "registry:2",
            ["DEPLOYER_STRATEGY"] = "BlueGreen",
            ["PREDICTOR_CONTAINER_NAME"] = PredictorName,
            ["EDGE_CONTAINER_NAME"] = EdgeName,
            ["PREDICTOR_BIND"] = "127.0.0.1",
            ["PREDICTOR_GRPC_PORT"] = Port(_grpcPort),
            ["PREDICTOR_HTTP_PORT"] = Port(_httpPort),
            ["SLOT_BLUE_GRPC_PORT"] = Port(_slotPorts[0]),
            ["SLOT_BLUE_HTTP_PORT"] = Port(_slotPorts[1]),
            ["SLOT_GREEN_GRPC_PORT"] = Port(_slotPorts[2]),
            ["SLOT_GREEN_HTTP_PORT"] = Port(_slotPorts[3]),
            ["SLOT_NETWORK"] = SlotNetwork,
            ["SLOT_SUBNET"] = _slotSubnet,
            ["DEPLOYER_BAKE_TIME"] = "00:00:00",
            ["REGISTRY_PORT"] = Port(_registryPort),
            ["DEPLOYER_ADMIN_PORT"] = Port(_adminPort),
            ["DEPLOYER_STATE_DIR"] = _stateDir,
            ["DEPLOYER_REGISTRY_KIND"] = "Oci",
            ["DEPLOYER_REGISTRY_ENDPOINT"] = $"http://127.0.0.1:{_registryPort}",
            ["DEPLOYER_POLL_INTERVAL"] = "00:00:01",
            ["DOCKER_GID"] = await DockerSocketGroupAsync(),
        };
        return await Command.RunAsync(
            "docker-compose",
            ["--file", Path.Combine(RepoPaths.Root, "docker-compose.yml"), .. arguments],
            TimeSpan.FromMinutes(3),
            environment);
    }

    private async Task<JsonElement?> StatusAsync(HttpClient http)
    {
        // The deployer makes its admin token (mode 0600) in the state folder at its first start.
        var tokenFile = Path.Combine(_stateDir, "admin-token");
        if (!File.Exists(tokenFile))
        {
            return null;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{_adminPort}/status"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(tokenFile)).Trim());
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>Prometheus' active targets: job → health ("up", "down", "unknown").</summary>
    private async Task<Dictionary<string, string>> PrometheusTargetsAsync(HttpClient http)
    {
        try
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{_prometheusPort}/api/v1/targets?state=active")));
            return document.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                .ToDictionary(t => t.GetProperty("labels").GetProperty("job").GetString()!, t => t.GetProperty("health").GetString()!);
        }
        catch (HttpRequestException)
        {
            return [];
        }
    }

    private async Task<IReadOnlyList<string>> ComposeContainersAsync()
    {
        var ps = await DockerCli.RunAsync(
            "ps", "--all", "--quiet", "--filter", $"label=com.docker.compose.project={_project}");
        return ps.EnsureSuccess().StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private async Task<IReadOnlyList<string>> ComposeServicesAsync()
    {
        var ps = await DockerCli.RunAsync(
            "ps", "--all", "--format", "{{.Label \"com.docker.compose.service\"}}", "--filter", $"label=com.docker.compose.project={_project}");
        return ps.EnsureSuccess().StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Every container whose name starts with the project's: the edge, the slots and any candidate.</summary>
    private async Task<IReadOnlyList<string>> DeployerContainersAsync()
    {
        var ps = await DockerCli.RunAsync("ps", "--all", "--format", "{{.Names}}", "--filter", $"name=^{_project}-");
        return ps.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private async Task<string> LogsAsync(string service)
    {
        var logs = (await ComposeAsync("--profile", "local", "--profile", "observability", "logs", "--no-color", "--tail", "60", service)).Tail(60);
        var containers = string.Join(
            "\n",
            (await DockerCli.RunAsync("ps", "--all", "--format", "{{.Names}} {{.Status}}", "--filter", $"name={_project}")).StdOut);
        return $"{logs}\ncontainers:\n{containers}";
    }

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
