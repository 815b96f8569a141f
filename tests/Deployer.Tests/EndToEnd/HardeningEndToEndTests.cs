using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Deployer.Tests.Support;
using Docker.DotNet.Models;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Hosting;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.V1;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// Issue 13 against the real engine: the containers the deployer creates carry the hardening and the log
/// rotation, as <c>docker inspect</c> and the kernel inside the container report them; the predictor serves
/// and drains under it; a log flood stays within max-size × max-file on Docker's data root.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed partial class HardeningEndToEndTests(PredictorImages images) : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(120);
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Deployer_Rollout_LiveAndPreflightContainersCarryTheHardeningInTheEngine()
    {
        // Arrange
        var digest = await _rig.PushAsync(PredictorImages.V1);
        var preflightName = _rig.ContainerName + "-preflight";
        await using var created = CreatedContainers.Watch(_rig.Docker, preflightName, _rig.ContainerName);

        // Act
        var deployer = await _rig.StartDeployerAsync();
        await WaitForRolloutAsync(deployer, digest, "Succeeded");

        // Assert: both containers, from the engine's inspect view.
        Assert.True(created.Inspected.TryGetValue(preflightName, out var preflight), $"no create event inspected for {preflightName}; missed {created.Missed.Count}\n{deployer.Logs.Text}");
        AssertHardened(preflight!, maxSize: "10m", maxFile: "3");
        var live = await _rig.InspectAsync(_rig.ContainerName);
        AssertHardened(live!, maxSize: "10m", maxFile: "3");
        Assert.True(live!.State.Running);
        var status = await deployer.StatusAsync();
        Assert.True(status.GetProperty("liveContainerHardened").GetBoolean(), status.ToString());
        Assert.Empty(status.GetProperty("liveContainerHardeningDifferences").EnumerateArray());
        Assert.Contains("deployer_live_container_hardened 1", await deployer.GetAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deployer_AdoptedUnhardenedContainer_IsKeptUntilTheNextRolloutReplacesItHardened()
    {
        // Arrange: a container started without any hardening, already on the tracked digest (as compose without
        // the x-hardened block would start it).
        var v1 = await _rig.PushAsync(PredictorImages.V1);
        await _rig.Registry.Docker.RunAsync(["pull", $"{_rig.ImageName}@{v1}"]);
        await Cli.RunAsync(["run", "-d", "--name", _rig.ContainerName, "-p", $"127.0.0.1:{_rig.HostPort}:8000", $"{_rig.ImageName}@{v1}"]);
        var adopted = await _rig.InspectAsync(_rig.ContainerName);

        // Act 1: adoption.
        var deployer = await _rig.StartDeployerAsync();
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("lastCheckResult").GetString() == "Adopt", Long, "adoption", () => deployer.Logs.Text);

        // Assert 1: kept as it is, and reported as not hardened, setting by setting.
        var status = await deployer.StatusAsync();
        Assert.False(status.GetProperty("liveContainerHardened").GetBoolean(), status.ToString());
        var differences = status.GetProperty("liveContainerHardeningDifferences").EnumerateArray().Select(d => d.GetString()).ToList();
        Assert.Equal(
            ["ReadOnlyRootFs", "Tmpfs", "CapDrop", "NoNewPrivileges", "PidsLimit", "Logging"],
            differences.Select(d => d!["Deployer:Container:Hardening:".Length..]));
        Assert.Contains("deployer_live_container_hardened 0", await deployer.GetAsync("/metrics"), StringComparison.Ordinal);
        Assert.Equal(adopted!.ID, (await _rig.InspectAsync(_rig.ContainerName))!.ID);

        // Act 2: the next rollout.
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await WaitForRolloutAsync(deployer, v2, "Succeeded");

        // Assert 2: replaced by a hardened container, and /status says so.
        var replaced = await _rig.InspectAsync(_rig.ContainerName);
        Assert.NotEqual(adopted.ID, replaced!.ID);
        AssertHardened(replaced, maxSize: "10m", maxFile: "3");
        Assert.Equal(images.V2ModelVersion, await _rig.ModelVersionAsync());
        await Probes.WaitUntilAsync(
            async () => (await deployer.StatusAsync()).GetProperty("liveContainerHardened").GetBoolean(),
            Long,
            "/status to report the replaced container as hardened",
            () => deployer.Logs.Text);
    }

    [Fact]
    public async Task Deployer_DataRootBelowMinFree_WarnsEveryTickAndRaisesTheGauge()
    {
        // Arrange: 1 EiB minimum; nothing is pushed, so no rollout ever runs and only the per-tick check can warn.
        const string Warning = "below Deployer:Disk:MinFreeMiB";

        // Act
        var deployer = await _rig.StartDeployerAsync(new Dictionary<string, string?> { ["Deployer:Disk:MinFreeMiB"] = "1099511627776" });
        await Probes.WaitUntilAsync(
            () => Task.FromResult(deployer.Logs.Text.Split('\n').Count(l => l.Contains(Warning, StringComparison.Ordinal)) >= 3),
            Long,
            "three ticks to warn about the data root",
            () => deployer.Logs.Text);

        // Assert
        var status = await deployer.StatusAsync();
        var dataRoot = status.GetProperty("dockerDataRoot");
        Assert.True(dataRoot.GetProperty("low").GetBoolean(), status.ToString());
        Assert.True(dataRoot.GetProperty("freeBytes").GetInt64() > 0, status.ToString());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("lastRollout").ValueKind);
        var metrics = await deployer.GetAsync("/metrics");
        Assert.Contains("deployer_disk_low 1", metrics, StringComparison.Ordinal);
        Assert.True(MetricValue(metrics, "deployer_disk_free_bytes") > 0, metrics);
    }

    [Fact]
    public async Task Deployer_DataRootWithRoom_ReportsFreeSpaceEveryTickWithoutARollout()
    {
        // Arrange: the rig's 64 MiB minimum; nothing pushed.
        var deployer = await _rig.StartDeployerAsync();

        // Act: two measurements, so the value is refreshed by the loop and not set once at start.
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("dockerDataRoot").GetProperty("checkedAt").ValueKind == JsonValueKind.String, Long, "a first measurement", () => deployer.Logs.Text);
        var first = (await deployer.StatusAsync()).GetProperty("dockerDataRoot").GetProperty("checkedAt").GetDateTimeOffset();
        await Probes.WaitUntilAsync(async () => (await deployer.StatusAsync()).GetProperty("dockerDataRoot").GetProperty("checkedAt").GetDateTimeOffset() > first, Long, "a second measurement", () => deployer.Logs.Text);

        // Assert
        var dataRoot = (await deployer.StatusAsync()).GetProperty("dockerDataRoot");
        Assert.False(dataRoot.GetProperty("low").GetBoolean());
        Assert.True(dataRoot.GetProperty("freeBytes").GetInt64() > 64L * 1024 * 1024);
        var metrics = await deployer.GetAsync("/metrics");
        Assert.Contains("deployer_disk_low 0", metrics, StringComparison.Ordinal);
        Assert.True(MetricValue(metrics, "deployer_disk_free_bytes") > 64L * 1024 * 1024, metrics);
        Assert.DoesNotContain("below Deployer:Disk:MinFreeMiB", deployer.Logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HardenedPredictor_PredictsReportsHealthAndDrainsOnSigterm()
    {
        // Arrange: the managed spec, as a rollout would create it, with a local tag instead of a pulled digest.
        await using var engine = Engine(new Dictionary<string, string?>());
        var spec = ContainerSpecFactory.Managed(engine.Options, _rig.ImageName, "sha256:unused", "hardening-e2e") with { Image = PredictorImages.V1 };

        // Act
        var started = await engine.Runtime.RunAsync(spec, CancellationToken.None);
        await Probes.WaitUntilAsync(_rig.IsServingAsync, Long, "the hardened predictor to serve", () => ContainerLogs(spec.Name));
        using var channel = GrpcChannel.ForAddress(_rig.PredictorAddress);
        var reply = await new Predictor.PredictorClient(channel).PredictAsync(GoldenRequest());
        var stopped = await engine.Runtime.StopAsync(spec.Name, TimeSpan.FromSeconds(30), CancellationToken.None);

        // Assert: it served, and SIGTERM drained it to a clean exit (not the SIGKILL after the timeout, 137).
        AssertHardened((await _rig.InspectAsync(spec.Name))!, maxSize: "10m", maxFile: "3");
        Assert.True(started.State.Running);
        Assert.InRange(reply.MathScore, 0, 100);
        Assert.True(stopped);
        var after = await _rig.InspectAsync(spec.Name);
        Assert.False(after!.State.OOMKilled);
        Assert.True(after.State.ExitCode == 0, $"exit code {after.State.ExitCode}\n{ContainerLogs(spec.Name)}");
        Assert.Contains("NOT_SERVING: shutting down", ContainerLogs(spec.Name), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HardenedContainer_KernelView_NoCapabilitiesNoNewPrivilegesReadOnlyRootAndPidsLimit()
    {
        // Arrange: a shell image that prints what the kernel enforces on it, created through the same factory.
        var probe = await BuildShellImageAsync(
            "probe",
            "grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status; "
            + "if touch /rootfs-probe 2>/dev/null; then echo rootfs=writable; else echo rootfs=read-only; fi; "
            + "if touch /tmp/tmp-probe; then echo tmp=writable; fi; "
            + "grep ' /tmp ' /proc/mounts; "
            + "echo pids.max=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)");
        await using var engine = Engine(new Dictionary<string, string?> { ["Deployer:Container:RestartPolicy"] = "no" });
        var spec = ContainerSpecFactory.Managed(engine.Options, _rig.ImageName, "sha256:unused", "hardening-e2e") with { Image = probe };

        try
        {
            // Act
            await engine.Runtime.RunAsync(spec, CancellationToken.None);
            await WaitForExitAsync(spec.Name);
            var output = ContainerLogs(spec.Name);

            // Assert
            Assert.Matches(@"CapEff:\s+0000000000000000", output);
            Assert.Matches(@"CapBnd:\s+0000000000000000", output);
            Assert.Matches(@"NoNewPrivs:\s+1", output);
            Assert.Contains("rootfs=read-only", output, StringComparison.Ordinal);
            Assert.Contains("tmp=writable", output, StringComparison.Ordinal);
            var tmp = output.Split('\n').Single(l => l.Contains(" /tmp ", StringComparison.Ordinal));
            Assert.Contains("tmpfs", tmp, StringComparison.Ordinal);
            Assert.Contains("noexec", tmp, StringComparison.Ordinal);
            Assert.Contains("size=65536k", tmp, StringComparison.Ordinal);
            Assert.Contains("pids.max=512", output, StringComparison.Ordinal);
        }
        finally
        {
            await Cli.TryRunAsync(["rm", "-f", spec.Name]);
            await Cli.TryRunAsync(["rmi", probe]);
        }
    }

    [Fact]
    public async Task HardenedContainer_LogFlood_KeepsAtMostMaxSizeTimesMaxFileOnTheDataRoot()
    {
        // Arrange: 32 MiB of 1000-character lines on stdout, against 1 MiB x 2 files; no restart, so it ends.
        const int MaxSize = 1024 * 1024;
        const int MaxFile = 2;
        const long Written = 32L * 1024 * 1024;
        var flood = await BuildShellImageAsync(
            "flood",
            $"yes \"$(head -c 1000 /dev/zero | tr '\\0' x)\" | head -c {Written.ToString(CultureInfo.InvariantCulture)}");
        await using var engine = Engine(new Dictionary<string, string?>
        {
            ["Deployer:Container:RestartPolicy"] = "no",
            ["Deployer:Container:Hardening:Logging:MaxSize"] = "1m",
            ["Deployer:Container:Hardening:Logging:MaxFile"] = MaxFile.ToString(CultureInfo.InvariantCulture),
        });
        var spec = ContainerSpecFactory.Managed(engine.Options, _rig.ImageName, "sha256:unused", "hardening-e2e") with { Image = flood };

        try
        {
            // Act
            await engine.Runtime.RunAsync(spec, CancellationToken.None);
            var exited = await WaitForExitAsync(spec.Name);
            var files = await LogFilesAsync(flood, exited.LogPath);

            // Assert: the whole flood was written, rotation happened, and what is left is bounded. json-file
            // rotates once a file has reached max-size, so each file may overrun it by at most one log line.
            Assert.Equal(0, exited.State.ExitCode);
            Assert.Equal("json-file", exited.HostConfig.LogConfig.Type);
            Assert.True(files.Files.Count == MaxFile, $"expected {MaxFile} files (rotation), found: {string.Join(", ", files.Files)}");
            var total = files.Files.Sum(f => f.Bytes);
            Assert.True(
                total <= MaxFile * ((long)MaxSize + files.LongestLine + 1),
                $"{total} bytes of logs left for {Written} written; bound {MaxFile} x ({MaxSize} + {files.LongestLine + 1})");
            Assert.True(total < Written / 10, $"{total} bytes left of {Written} written");
        }
        finally
        {
            await Cli.TryRunAsync(["rm", "-f", spec.Name]);
            await Cli.TryRunAsync(["rmi", flood]);
        }
    }

    [Fact]
    public async Task Compose_PredictorAndDeployerServices_CarryTheDeployersDefaultHardening()
    {
        // Arrange: docker-compose.yml's services created (not started) under a unique project; any local image
        // does, since only what the engine records at create is read.
        await using var engine = Engine(new Dictionary<string, string?>());
        var project = "sphardening" + LocalRegistry.RandomSuffix();
        var state = Directory.CreateTempSubdirectory("sp-hardening-compose-").FullName;
        var environment = new Dictionary<string, string>
        {
            ["COMPOSE_PROJECT_NAME"] = project,
            ["PREDICTOR_IMAGE"] = PredictorImages.V1,
            ["DEPLOYER_IMAGE"] = PredictorImages.V1,
            ["PREDICTOR_CONTAINER_NAME"] = project + "-predictor",
            ["PREDICTOR_BIND"] = "127.0.0.1",
            ["PREDICTOR_GRPC_PORT"] = LocalRegistry.FreePort().ToString(CultureInfo.InvariantCulture),
            ["PREDICTOR_HTTP_PORT"] = LocalRegistry.FreePort().ToString(CultureInfo.InvariantCulture),
            ["DEPLOYER_STATE_DIR"] = state,
        };

        try
        {
            // Act
            await ComposeAsync(environment, "up", "--no-start", "--no-build", "predictor", "deployer");
            var predictor = await engine.Runtime.InspectAsync(project + "-predictor", CancellationToken.None);
            var deployer = await engine.Runtime.InspectAsync($"{project}_deployer_1", CancellationToken.None);

            // Assert: the same settings as every container the deployer creates, in the engine's own view.
            var expected = ContainerSpecFactory.Hardening(engine.Options);
            Assert.Empty(expected.Differences(predictor!.Hardening!));
            Assert.Empty(expected.Differences(deployer!.Hardening!));
            Assert.Empty(ContainerHardening.Default.Differences(expected));
        }
        finally
        {
            await ComposeAsync(environment, "down", "--remove-orphans");
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task ComposeAsync(Dictionary<string, string> environment, params string[] arguments)
    {
        var info = new System.Diagnostics.ProcessStartInfo("docker-compose", ["--file", Path.Combine(PredictorImages.RepositoryRoot, "docker-compose.yml"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"docker-compose {string.Join(' ', arguments)} exited {process.ExitCode}:\n{await stdout}{await stderr}");
    }

    private static void AssertHardened(ContainerInspectResponse container, string maxSize, string maxFile)
    {
        var host = container.HostConfig;
        var name = container.Name;
        Assert.True(host.ReadonlyRootfs, $"{name}: ReadonlyRootfs");
        Assert.Equal("rw,noexec,nosuid,nodev,size=64m", Assert.Contains("/tmp", host.Tmpfs));
        Assert.Equal(["ALL"], host.CapDrop);
        Assert.Empty(host.CapAdd ?? []);
        Assert.Contains("no-new-privileges:true", host.SecurityOpt);
        Assert.Equal(512, host.PidsLimit);
        Assert.Equal("json-file", host.LogConfig.Type);
        Assert.Equal(maxSize, host.LogConfig.Config["max-size"]);
        Assert.Equal(maxFile, host.LogConfig.Config["max-file"]);
    }

    private static Task WaitForRolloutAsync(DeployerInstance deployer, string digest, string outcome) => deployer.WaitForRolloutAsync(digest, outcome, Long);

    private static PredictRequest GoldenRequest() =>
        Google.Protobuf.JsonParser.Default.Parse<PredictRequest>(new PreflightOptions().GoldenRequest);

    private static double MetricValue(string metrics, string name)
    {
        var match = Regex.Match(metrics, $"^{name} (?<value>\\S+)$", RegexOptions.Multiline);
        Assert.True(match.Success, $"{name} not in /metrics:\n{metrics}");
        return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
    }

    private static string ContainerLogs(string name) =>
        Cli.TryRunAsync(["logs", name]).GetAwaiter().GetResult().Output;

    private async Task<ContainerInspectResponse> WaitForExitAsync(string name)
    {
        ContainerInspectResponse? container = null;
        await Probes.WaitUntilAsync(
            async () => (container = await _rig.InspectAsync(name)) is { State.Running: false, State.Status: "exited" },
            Long,
            $"{name} to exit",
            () => ContainerLogs(name));
        return container!;
    }

    /// <summary>The deployer's own engine wiring (not started): the runtime and the bound, validated options.</summary>
    private HardenedEngine Engine(Dictionary<string, string?> overrides)
    {
        overrides["Deployer:Container:Name"] = _rig.ContainerName;
        var app = DeployerHostExtensions.BuildDeployer([], builder => builder.Configuration.AddInMemoryCollection(_rig.Settings(overrides)));
        return new HardenedEngine(app, app.Services.GetRequiredService<IContainerRuntime>(), app.Services.GetRequiredService<IOptions<ContainerSpecOptions>>().Value);
    }

    /// <summary>
    /// The size of each log file the engine keeps for a container and the longest line in them, measured on
    /// Docker's data root from a throwaway container (the test process may not be allowed to read it).
    /// </summary>
    private static async Task<(IReadOnlyList<(string Name, long Bytes)> Files, long LongestLine)> LogFilesAsync(string shellImage, string logPath)
    {
        var folder = Path.GetDirectoryName(logPath)!;
        var prefix = Path.GetFileName(logPath);
        var output = await Cli.RunAsync(
        [
            "run", "--rm", "--network", "none", "-v", $"{folder}:/logs:ro", "--entrypoint", "/bin/sh", shellImage, "-c",
            $"for f in /logs/{prefix}*; do echo \"file $(stat -c %s \"$f\") $f\"; done; echo \"longest $(cat /logs/{prefix}* | wc -L)\"",
        ]);
        var files = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("file ", StringComparison.Ordinal))
            .Select(l => l.Split(' ', 3))
            .Select(p => (p[2], long.Parse(p[1], CultureInfo.InvariantCulture)))
            .ToList();
        var longest = long.Parse(LongestLine().Match(output).Groups["n"].Value, CultureInfo.InvariantCulture);
        return (files, longest);
    }

    /// <summary>An image on the SDK base (it has a shell and coreutils) whose entrypoint runs <paramref name="script"/>.</summary>
    private static async Task<string> BuildShellImageAsync(string purpose, string script)
    {
        var tag = $"{PredictorImages.Repository}:{purpose}-{LocalRegistry.RandomSuffix()}";
        var context = Directory.CreateTempSubdirectory("sp-e2e-shell-").FullName;
        try
        {
            await File.WriteAllTextAsync(
                Path.Combine(context, "Dockerfile"),
                $"FROM {SdkImage()}\nENTRYPOINT [\"/bin/sh\", \"-c\", {JsonSerializer.Serialize(script)}]\n");
            await Cli.RunAsync(["build", "--force-rm", "-t", tag, context], timeout: TimeSpan.FromMinutes(5));
            return tag;
        }
        finally
        {
            Directory.Delete(context, recursive: true);
        }
    }

    /// <summary>The SDK image the predictor images were built from (scripts/test.sh's SDK_IMAGE; empty: the Dockerfile's default).</summary>
    private static string SdkImage() =>
        Environment.GetEnvironmentVariable("SDK_IMAGE") switch
        {
            null => "local/sdk:10.0",
            "" => SdkDefault().Match(File.ReadAllText(Path.Combine(PredictorImages.RepositoryRoot, "Dockerfile.predictor"))).Groups["image"].Value,
            var image => image,
        };

    [GeneratedRegex(@"^ARG SDK_IMAGE=(?<image>\S+)$", RegexOptions.Multiline)]
    private static partial Regex SdkDefault();

    [GeneratedRegex(@"longest (?<n>\d+)")]
    private static partial Regex LongestLine();

    private sealed class HardenedEngine(WebApplication app, IContainerRuntime runtime, ContainerSpecOptions options) : IAsyncDisposable
    {
        public IContainerRuntime Runtime { get; } = runtime;

        public ContainerSpecOptions Options { get; } = options;

        public ValueTask DisposeAsync() => app.DisposeAsync();
    }
}
