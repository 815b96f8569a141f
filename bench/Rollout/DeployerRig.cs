extern alias deployer;

using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using deployer::StudentPerformance.Deployer.Edge;
using Microsoft.Extensions.Logging.Abstractions;
using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Modes;

namespace StudentPerformance.Bench.Rollout;

/// <summary>What the bench reads from the deployer's <c>/status</c>.</summary>
internal sealed record DeployerView(
    string? RunningDigest,
    string? LastRolloutId,
    string? LastRolloutDigest,
    string? Outcome,
    string? Detail,
    IReadOnlyList<string> Quarantined,
    bool InProgress,
    string? Phase,
    string? LiveSlot)
{
    /// <summary>The rollout of <paramref name="digest"/> is over and it is live.</summary>
    public bool IsLive(string digest) =>
        RunningDigest == digest && LastRolloutDigest == digest && !InProgress && Phase is null;

    /// <summary>The rollout of <paramref name="digest"/> is over, it is quarantined, and <paramref name="live"/> serves.</summary>
    public bool IsQuarantined(string digest, string? live) =>
        Quarantined.Contains(digest) && RunningDigest == live && !InProgress && Phase is null;

    public static DeployerView Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        string? Text(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        var last = root.TryGetProperty("lastRollout", out var l) ? l : default;
        var quarantined = root.TryGetProperty("quarantined", out var q) && q.ValueKind == JsonValueKind.Array
            ? q.EnumerateArray().Select(e => Text(e, "digest")).OfType<string>().ToList()
            : [];
        var inProgress = root.TryGetProperty("rolloutInProgress", out var p) && p.ValueKind == JsonValueKind.True;
        return new DeployerView(Text(root, "runningDigest"), Text(last, "id"), Text(last, "digest"), Text(last, "outcome"), Text(last, "detail"),
            quarantined, inProgress, Text(root, "rolloutPhase"), Text(root, "liveSlot"));
    }
}

/// <summary>
/// A local registry (docker-registry on a free loopback port) and the Release deployer as a child process (OCI mode,
/// 1 s poll, its own state folder) with unique names: every container and repository the run makes starts with
/// <see cref="Prefix"/>, and <see cref="DisposeAsync"/> removes them. Under <c>BlueGreen</c> the edge and both
/// slots get free loopback ports and the edge's configuration lives in the run's work folder.
/// </summary>
internal sealed partial class DeployerRig : IAsyncDisposable
{
    private const int GrpcContainerPort = 8000;
    private const int HttpContainerPort = 8080;
    private readonly string _deployerCommand;
    private readonly List<string> _builtImages = [];
    private readonly List<string> _log = [];
    private readonly Dictionary<string, int> _slotGrpcPorts = new(StringComparer.Ordinal);
    private ChildProcess? _registry;
    private ChildProcess? _deployer;
    private int _deployerRuns;

    private DeployerRig(string mode, string deployerCommand)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        Prefix = $"bench-{mode}-{id}";
        Work = Directory.CreateTempSubdirectory($"{Prefix}-").FullName;
        _deployerCommand = deployerCommand;
        RegistryPort = RepoPaths.FreePort();
        Tagged = $"127.0.0.1:{RegistryPort}/{Prefix}:latest";
    }

    /// <summary>Every container, repository and image this run makes starts with it.</summary>
    public string Prefix { get; }

    public string Work { get; }

    public int RegistryPort { get; }

    /// <summary>The tag the deployer tracks.</summary>
    public string Tagged { get; }

    public Dictionary<string, string> Env { get; } = new(StringComparer.Ordinal);

    public Uri Admin => new(Env["Deployer__Admin__Url"]);

    public string EdgeName => $"{Prefix}-edge";

    /// <summary>The deployer's process id, for a kill from outside.</summary>
    public ChildProcess? Deployer => _deployer;

    /// <summary>
    /// Starts the registry and prepares the deployer's settings: the public gRPC port <paramref name="port"/> on
    /// 127.0.0.1, and under BlueGreen the edge (see <see cref="UseEdgeImageAsync"/>) with slots on free loopback ports.
    /// </summary>
    public static async Task<DeployerRig> StartAsync(
        string mode, string strategy, int port, TimeSpan bakeTime, string deployerCommand,
        IEnumerable<string> extraEnv, CancellationToken cancellationToken)
    {
        var rig = new DeployerRig(mode, deployerCommand);
        rig._registry = StartRegistry(rig.Work, rig.RegistryPort);
        await WaitForRegistryAsync(rig.RegistryPort, cancellationToken).ConfigureAwait(false);
        var env = rig.Env;
        env["Deployer__Strategy"] = strategy;
        env["Deployer__Registry__Kind"] = "Oci";
        env["Deployer__Registry__Endpoint"] = $"http://127.0.0.1:{rig.RegistryPort}";
        env["Deployer__Image__Repository"] = rig.Prefix;
        env["Deployer__Image__Tag"] = "latest";
        env["Deployer__Container__Name"] = rig.Prefix;
        env["Deployer__Container__HostIp"] = "127.0.0.1";
        env["Deployer__Container__Ports__0"] = $"{port}:{GrpcContainerPort}";
        env["Deployer__PollInterval"] = "00:00:01";
        env["Deployer__PollJitter"] = "00:00:00";
        env["Deployer__StateDirectory"] = Path.Combine(rig.Work, "state");
        env["Deployer__Admin__Url"] = $"http://127.0.0.1:{RepoPaths.FreePort()}";
        env["Deployer__Disk__MinFreeMiB"] = "0";
        env["Deployer__HealthGate__BakeTime"] = bakeTime.ToString("c", CultureInfo.InvariantCulture);
        if (strategy == "BlueGreen")
        {
            env["Deployer__Edge__Name"] = rig.EdgeName;
            env["Deployer__Edge__ConfigDirectory"] = Path.Combine(rig.Work, "edge");
            env["Deployer__Edge__RuntimeApi"] = $"127.0.0.1:{RepoPaths.FreePort()}";
            // The slots' own network, a /29 of its own (another run or test may hold another one).
            env["Deployer__Edge__SlotNetwork"] = $"{rig.Prefix}-slots";
            env["Deployer__Edge__SlotSubnet"] = $"10.213.{Random.Shared.Next(128, 256)}.{Random.Shared.Next(32) * 8}/29";
            foreach (var slot in new[] { "Blue", "Green" })
            {
                var grpc = RepoPaths.FreePort();
                rig._slotGrpcPorts[slot.ToLowerInvariant()] = grpc;
                env[$"Deployer__Edge__{slot}Ports__0"] = $"{grpc}:{GrpcContainerPort}";
                env[$"Deployer__Edge__{slot}Ports__1"] = $"{RepoPaths.FreePort()}:{HttpContainerPort}";
            }
        }

        foreach (var kv in extraEnv.Select(e => e.Split('=', 2)))
        {
            env[kv[0]] = kv.Length > 1 ? kv[1] : "";
        }

        return rig;
    }

    /// <summary>
    /// BlueGreen: the slot the edge routes to, as /status says, or else as the edge's runtime API says (the same
    /// client the deployer uses); null when neither knows.
    /// </summary>
    public async Task<string?> LiveSlotAsync(CancellationToken cancellationToken)
    {
        if ((await StatusAsync(cancellationToken).ConfigureAwait(false))?.LiveSlot is { } slot)
        {
            return slot;
        }

        var proxy = new HaproxyEdgeProxy(
            Microsoft.Extensions.Options.Options.Create(new EdgeOptions { RuntimeApi = Env["Deployer__Edge__RuntimeApi"], ConfigDirectory = Env["Deployer__Edge__ConfigDirectory"] }),
            TimeProvider.System, NullLogger<HaproxyEdgeProxy>.Instance);
        try
        {
            return (await proxy.GetStateAsync(cancellationToken).ConfigureAwait(false))?.Live?.ServerName();
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>The loopback address of a slot's gRPC port (BlueGreen): straight to the predictor, past the edge.</summary>
    public Uri SlotAddress(string slot) => new($"http://127.0.0.1:{_slotGrpcPorts[slot]}");

    public string SlotContainer(string slot) => $"{Prefix}-{slot}";

    /// <summary>
    /// The slot's gRPC port at its address on the slots' network, where the edge reaches it (no proxy at all); null
    /// when the deployer's settings put the slots on no network (<c>Deployer__Edge__SlotNetwork</c> empty).
    /// </summary>
    public Uri? SlotContainerAddress(string slot)
    {
        var network = EdgeSlotNetwork.Create(new EdgeOptions
        {
            SlotNetwork = Env.GetValueOrDefault("Deployer__Edge__SlotNetwork") ?? "",
            SlotSubnet = Env.GetValueOrDefault("Deployer__Edge__SlotSubnet") ?? "",
        });
        return network is null || !EdgeSlots.TryParse(slot, out var parsed) ? null : new Uri($"http://{network.Address(parsed)}:{GrpcContainerPort}");
    }

    public void StartDeployer()
    {
        var parts = _deployerCommand.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        _deployer = ChildProcess.Start(parts[0], parts[1..], Env);
        _ = CopyAsync(_deployer, Path.Combine(Work, $"deployer-{++_deployerRuns}.log"));
    }

    /// <summary>SIGKILL, as a crash or an OOM kill would: no shutdown code runs.</summary>
    public async Task KillDeployerAsync()
    {
        if (_deployer is { } deployer)
        {
            deployer.Process.Kill(entireProcessTree: true);
            await deployer.Process.WaitForExitAsync().ConfigureAwait(false);
            deployer.Dispose();
            _deployer = null;
        }
    }

    public async Task StopDeployerAsync()
    {
        if (_deployer is { } deployer)
        {
            await deployer.TerminateAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
            deployer.Dispose();
            _deployer = null;
        }
    }

    public string DeployerLog => Path.Combine(Work, $"deployer-{_deployerRuns}.log");

    /// <summary>Tags and pushes to the tracked tag; returns the pushed manifest digest.</summary>
    public async Task<string> PushAsync(string image, CancellationToken cancellationToken)
    {
        await StartupMode.DockerAsync(["tag", image, Tagged], cancellationToken).ConfigureAwait(false);
        var output = await StartupMode.DockerAsync(["push", Tagged], cancellationToken).ConfigureAwait(false);
        return DigestPattern().Match(output) is { Success: true } m ? m.Value : throw new InvalidOperationException($"no digest in docker push's output: {output}");
    }

    /// <summary>The deployer's /status, or null while it does not answer (starting, or killed).</summary>
    public async Task<DeployerView?> StatusAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            return DeployerView.Parse(await http.GetStringAsync(new Uri(Admin, "/status"), cancellationToken).ConfigureAwait(false));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Polls /status until <paramref name="done"/> holds; returns whether it did, the last view and the seconds taken.</summary>
    public async Task<(bool Done, DeployerView? Last, double Seconds)> WaitForAsync(Func<DeployerView, bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        DeployerView? last = null;
        while (TimeProvider.System.GetElapsedTime(started) < timeout)
        {
            last = await StatusAsync(cancellationToken).ConfigureAwait(false) ?? last;
            if (last is not null && done(last))
            {
                return (true, last, Math.Round(TimeProvider.System.GetElapsedTime(started).TotalSeconds, 1));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        }

        return (false, last, Math.Round(TimeProvider.System.GetElapsedTime(started).TotalSeconds, 1));
    }

    /// <summary>
    /// The edge's image: <paramref name="image"/>, or else Dockerfile.edge built here, on the local Debian base when
    /// there is one (this machine reaches no public registry).
    /// </summary>
    public async Task<string> UseEdgeImageAsync(string? image, CancellationToken cancellationToken)
    {
        Env["Deployer__Edge__Image"] = image ?? await BuildEdgeImageAsync(cancellationToken).ConfigureAwait(false);
        return Env["Deployer__Edge__Image"];
    }

    private async Task<string> BuildEdgeImageAsync(CancellationToken cancellationToken)
    {
        var tag = $"{Prefix}-edge-image:latest";
        var root = RepoPaths.Root();
        List<string> args = ["build", "-q", "--network", "host", "-f", Path.Combine(root, "Dockerfile.edge"), "-t", tag];
        if (!string.IsNullOrEmpty(await StartupMode.DockerAsync(["images", "-q", "local/debian:bookworm"], cancellationToken).ConfigureAwait(false)))
        {
            args.AddRange(["--build-arg", "BASE_IMAGE=local/debian:bookworm"]);
        }

        await StartupMode.DockerAsync([.. args, root], cancellationToken).ConfigureAwait(false);
        _builtImages.Add(tag);
        return tag;
    }

    /// <summary>An image made from <paramref name="dockerfile"/> alone (FROM one of ours), removed at the end.</summary>
    public async Task<string> BuildDerivedAsync(string name, string dockerfile, CancellationToken cancellationToken)
    {
        var tag = $"{Prefix}-{name}:latest";
        var dir = Directory.CreateTempSubdirectory("bench-image-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "Dockerfile"), dockerfile, cancellationToken).ConfigureAwait(false);
            await StartupMode.DockerAsync(["build", "-q", "-t", tag, dir], cancellationToken).ConfigureAwait(false);
            _builtImages.Add(tag);
            return tag;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// <paramref name="baseImage"/> under another digest, with the label <c>bench.variant</c> = <c>{Prefix}-{name}</c>
    /// that its containers carry, so that <see cref="CrashAsync"/> finds them.
    /// </summary>
    public Task<string> BuildVariantAsync(string name, string baseImage, CancellationToken cancellationToken) =>
        BuildDerivedAsync(name, $"FROM {baseImage}\nLABEL bench.variant=\"{Prefix}-{name}\"\n", cancellationToken);

    /// <summary>
    /// SIGKILLs, from the host, the main process of every running container of the variant <paramref name="name"/>: to
    /// the engine and the deployer that is the app crashing (the restart policy applies), not a manual stop.
    /// Returns the containers' names.
    /// </summary>
    public async Task<IReadOnlyList<string>> CrashAsync(string name)
    {
        var lines = await StartupMode.DockerAsync(["ps", "--filter", $"name=^{Prefix}", "--filter", $"label=bench.variant={Prefix}-{name}",
            "--filter", "status=running", "--format", "{{.Names}}"], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        var crashed = new List<string>();
        foreach (var container in lines.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var pid = await ContainerPidAsync(container).ConfigureAwait(false);
            if (pid > 0)
            {
                using var kill = System.Diagnostics.Process.Start("/bin/kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync().ConfigureAwait(false);
                crashed.Add(container);
            }
        }

        return crashed;
    }

    /// <summary>
    /// Until cancelled: each time a deployer log line containing <paramref name="step"/> appears after line
    /// <paramref name="fromLine"/>, waits <paramref name="delay"/> and crashes the variant's containers. Returns how
    /// many crashes it made.
    /// </summary>
    public async Task<int> CrashOnStepAsync(string name, string step, int fromLine, TimeSpan delay, CancellationToken cancellationToken)
    {
        var crashes = 0;
        var next = fromLine;
        try
        {
            while (true)
            {
                next = await WaitForLogAsync(step, next, cancellationToken).ConfigureAwait(false) + 1;
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                var crashed = await CrashAsync(name).ConfigureAwait(false);
                crashes += crashed.Count;
                Console.WriteLine($"  '{step}' in the deployer's log: crashed {(crashed.Count == 0 ? "nothing (no running container of the variant)" : string.Join(", ", crashed))}");
            }
        }
        catch (OperationCanceledException)
        {
            return crashes;
        }
    }

    /// <summary>How many lines the deployer has logged so far, over all its runs.</summary>
    public int LogLines
    {
        get
        {
            lock (_log)
            {
                return _log.Count;
            }
        }
    }

    /// <summary>Waits for a log line at or after <paramref name="fromLine"/> that contains <paramref name="text"/>; returns its index.</summary>
    public async Task<int> WaitForLogAsync(string text, int fromLine, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_log)
            {
                for (var i = fromLine; i < _log.Count; i++)
                {
                    if (_log[i].Contains(text, StringComparison.Ordinal))
                    {
                        return i;
                    }
                }

                fromLine = Math.Max(fromLine, _log.Count);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs, but serves gRPC on 8001 instead of 8000: it never becomes SERVING (preflight refuses it).</summary>
    public Task<string> BuildNeverServingAsync(string baseImage, CancellationToken cancellationToken) =>
        BuildDerivedAsync("never-serving",
            $"FROM {baseImage}\nLABEL bench.variant=\"{Prefix}-never-serving\"\nENV Kestrel__Endpoints__Grpc__Url=http://0.0.0.0:8001\n",
            cancellationToken);

    /// <summary>The run's containers (name and state), the edge and the slots included.</summary>
    public async Task<IReadOnlyList<(string Name, string State)>> ContainersAsync()
    {
        var lines = await StartupMode.DockerAsync(["ps", "-a", "--filter", $"name=^{Prefix}", "--format", "{{.Names}} {{.State}}"], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        return [.. lines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2)).Select(f => (f[0], f.Length > 1 ? f[1] : ""))];
    }

    public static async Task<int> ContainerPidAsync(string name) =>
        int.Parse(await StartupMode.DockerAsync(["inspect", "-f", "{{.State.Pid}}", name], CancellationToken.None).ConfigureAwait(false), CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        await StopDeployerAsync().ConfigureAwait(false);
        foreach (var (name, _) in await ContainersAsync().ConfigureAwait(false))
        {
            await StartupMode.DockerAsync(["rm", "-f", name], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        }

        // Images the deployer pulled by digest have no tag: remove them as repository@digest.
        var images = await StartupMode.DockerAsync(["images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        var references = images.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .Where(f => f.Length == 3 && f[0].EndsWith("/" + Prefix, StringComparison.Ordinal))
            .Select(f => f[1] != "<none>" ? $"{f[0]}:{f[1]}" : $"{f[0]}@{f[2]}");
        foreach (var image in references.Append(Tagged).Concat(_builtImages).Distinct())
        {
            await StartupMode.DockerAsync(["rmi", image], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        }

        if (Env.GetValueOrDefault("Deployer__Edge__SlotNetwork") is { Length: > 0 } network)
        {
            await StartupMode.DockerAsync(["network", "rm", network], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        }

        _registry?.Dispose();
        Console.WriteLine($"logs kept in {Work}");
    }

    private static ChildProcess StartRegistry(string work, int port)
    {
        var config = Path.Combine(work, "registry.yml");
        File.WriteAllText(config, $"""
            version: 0.1
            storage:
              filesystem:
                rootdirectory: {Path.Combine(work, "registry")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
            """);
        var child = ChildProcess.Start("/usr/bin/docker-registry", ["serve", config]);
        _ = child.DrainAsync();
        return child;
    }

    private static async Task WaitForRegistryAsync(int port, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/v2/"), cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not up yet.
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new InvalidOperationException($"docker-registry did not answer on 127.0.0.1:{port}");
    }

    private async Task CopyAsync(ChildProcess child, string path)
    {
        var file = File.CreateText(path);
        await using var fileDisposal = file.ConfigureAwait(false);
        var stderr = child.Process.StandardError.ReadToEndAsync();
        while (await child.Process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            lock (_log)
            {
                _log.Add(line);
            }

            await file.WriteLineAsync(line).ConfigureAwait(false);
            await file.FlushAsync().ConfigureAwait(false);
        }

        await file.WriteAsync(await stderr.ConfigureAwait(false)).ConfigureAwait(false);
    }

    [GeneratedRegex("sha256:[0-9a-f]{64}")]
    private static partial Regex DigestPattern();
}
