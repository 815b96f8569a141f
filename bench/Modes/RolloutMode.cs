using System.Text.RegularExpressions;
using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Rollout;

namespace StudentPerformance.Bench.Modes;

/// <summary>
/// <c>rollout</c>: the deployer's end-to-end numbers. It starts a local registry (docker-registry) and the deployer
/// (OCI mode, 1 s poll), pushes v1 and waits for it to serve, then, with a prober calling Health every 20 ms through
/// the published port:
/// 1. pushes v2: time from push to v2 SERVING, and the downtime window;
/// 2. pushes a bad image (no model: it exits at start) with preflight on: downtime, which should be 0;
/// 3. restarts the deployer with preflight off and pushes another bad image: downtime until the rollback serves.
/// It also reads the model-quality gate's duration from the deployer's /status: for v1 (the candidate alone, the
/// first gate of a fresh process) and for v2 (candidate and live scored on the default golden set).
/// Everything runs on loopback with unique names, and is removed at the end.
/// </summary>
internal static partial class RolloutMode
{
    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var v1 = options.StringOrNull("v1-image") ?? throw new UsageException("--v1-image is required (a predictor image)");
        var v2 = options.StringOrNull("v2-image") ?? throw new UsageException("--v2-image is required (a predictor image whose model version differs)");
        var port = options.Int("port", 8000, 1, 65535);
        var interval = options.Seconds("interval", 0.020, 1);
        var timeout = options.Seconds("timeout", 180, 1800);
        var deployer = options.String("deployer-command",
            "dotnet " + Path.Combine(RepoPaths.Root(), "services", "Deployer", "bin", "Release", "net10.0", "Deployer.dll"));
        var deployerEnv = options.All("deployer-env");
        var skipBad = options.Flag("no-bad");
        options.ThrowOnUnknown();

        var id = Guid.NewGuid().ToString("N")[..8];
        var work = Directory.CreateTempSubdirectory($"bench-rollout-{id}-").FullName;
        var repository = $"bench-rollout-{id}";
        var container = $"bench-predictor-{id}";
        var registryPort = RepoPaths.FreePort();
        var registry = $"127.0.0.1:{registryPort}";
        var tagged = $"{registry}/{repository}:latest";
        var badImages = new List<string>();
        ChildProcess? registryProcess = null;
        ChildProcess? deployerProcess = null;
        try
        {
            registryProcess = StartRegistry(work, registryPort);
            await WaitForRegistryAsync(registryPort, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"registry {registry}, repository {repository}, container {container}, port {port}");

            var env = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["Deployer__Registry__Kind"] = "Oci",
                ["Deployer__Registry__Endpoint"] = $"http://{registry}",
                ["Deployer__Image__Repository"] = repository,
                ["Deployer__Image__Tag"] = "latest",
                ["Deployer__Container__Name"] = container,
                ["Deployer__Container__HostIp"] = "127.0.0.1",
                ["Deployer__Container__Ports__0"] = $"{port}:8000",
                ["Deployer__PollInterval"] = "00:00:01",
                ["Deployer__PollJitter"] = "00:00:00",
                ["Deployer__StateDirectory"] = Path.Combine(work, "state"),
                ["Deployer__Admin__Url"] = $"http://127.0.0.1:{RepoPaths.FreePort()}",
                ["Deployer__Disk__MinFreeMiB"] = "0",
            };
            foreach (var kv in deployerEnv.Select(e => e.Split('=', 2)))
            {
                env[kv[0]] = kv.Length > 1 ? kv[1] : "";
            }

            await PushAsync(v1, tagged, cancellationToken).ConfigureAwait(false);
            deployerProcess = StartDeployer(deployer, env, preflight: true, work, "1");

            var prober = new HealthProber(new Uri($"http://127.0.0.1:{port}"), interval, TimeSpan.FromMilliseconds(250));
            await using var proberDisposal = prober.ConfigureAwait(false);
            prober.Start();
            var first = await prober.WaitForAsync(p => p.Serving, timeout, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"v1 never served on port {port} (deployer log: {Path.Combine(work, "deployer-1.log")})");
            var v1Version = first.ModelVersion;
            Console.WriteLine($"v1 serving (model {v1Version}) {first.AtMs / 1000:0.0} s after the deployer started");
            var admin = new Uri(env["Deployer__Admin__Url"]);
            var gateV1 = await ReadQualityGateAsync(admin, cancellationToken).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);

            // 1. A good rollout.
            var good = await MeasureAsync(prober, "v2", () => PushAsync(v2, tagged, cancellationToken),
                p => p.Serving && p.ModelVersion != v1Version, timeout, cancellationToken).ConfigureAwait(false);
            var results = new List<Scenario> { good };
            var gateV2 = await ReadQualityGateAsync(admin, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"quality gate: v1 {gateV1.Summary}; v2 {gateV2.Summary}");

            if (!skipBad)
            {
                // 2. A bad image with preflight on: the live container must never stop.
                var bad1 = await BuildBadImageAsync(v1, id, 1, cancellationToken).ConfigureAwait(false);
                badImages.Add(bad1);
                var v2Version = prober.Last?.ModelVersion;
                results.Add(await MeasureBadAsync(prober, "bad, preflight on", bad1, tagged, env, v2Version, timeout, cancellationToken).ConfigureAwait(false));

                // 3. Another bad image (another digest) with preflight off: the health gate catches it and rolls back.
                await deployerProcess.TerminateAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
                deployerProcess.Dispose();
                deployerProcess = StartDeployer(deployer, env, preflight: false, work, "2");
                var bad2 = await BuildBadImageAsync(v1, id, 2, cancellationToken).ConfigureAwait(false);
                badImages.Add(bad2);
                results.Add(await MeasureBadAsync(prober, "bad, preflight off", bad2, tagged, env, v2Version, timeout, cancellationToken).ConfigureAwait(false));
            }

            Report.Print(
                ["scenario", "push s", "push to serving ms", "outages", "longest down ms", "total down ms", "down probes", "slow probes", "serving at end"],
                [.. results.Select(r => new List<string>
                {
                    r.Name, Report.F(r.PushSeconds), Report.F(r.PushToServingMs), Report.F(r.Downtime.Outages),
                    Report.F(r.Downtime.LongestMs), Report.F(r.Downtime.TotalMs), Report.F(r.Downtime.FailedProbes), Report.F(r.Downtime.SlowProbes), r.ServingAtEnd ?? "-",
                })]);
            Report.JsonLine(new
            {
                mode = "rollout",
                date = Report.Now(),
                probe_interval_ms = interval.TotalMilliseconds,
                v1_model = v1Version,
                scenarios = results,
                quality_gate_v1_ms = gateV1.DurationMs,
                quality_gate_v2_ms = gateV2.DurationMs,
                quality_gate_rows = gateV2.Rows,
            });
            return 0;
        }
        finally
        {
            if (deployerProcess is not null)
            {
                await deployerProcess.TerminateAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
                deployerProcess.Dispose();
            }

            await CleanUpAsync(container, repository, tagged, badImages).ConfigureAwait(false);
            registryProcess?.Dispose();
            Console.WriteLine($"logs kept in {work}");
        }
    }

    private static async Task<Scenario> MeasureAsync(
        HealthProber prober, string name, Func<Task<string>> push, Func<Probe, bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pushStart = prober.NowMs;
        await push().ConfigureAwait(false);
        var pushEnd = prober.NowMs;
        var reached = await prober.WaitForAsync(p => p.AtMs >= pushEnd && done(p), timeout, cancellationToken).ConfigureAwait(false);
        // Keep probing a little: a flap right after the switch counts too.
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
        var downtime = Downtime.From(prober.Probes, pushStart);
        Console.WriteLine($"{name}: {(reached is null ? "never reached" : $"serving {reached.Value.AtMs - pushEnd:0} ms after the push")}, longest outage {downtime.LongestMs:0} ms");
        return new Scenario(name, Math.Round((pushEnd - pushStart) / 1000, 2), reached is null ? null : Math.Round(reached.Value.AtMs - pushEnd, 0), downtime, prober.Last?.ModelVersion);
    }

    private static async Task<Scenario> MeasureBadAsync(
        HealthProber prober, string name, string badImage, string tagged, Dictionary<string, string> env, string? liveVersion,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var admin = new Uri(env["Deployer__Admin__Url"]);
        string? digest = null;
        var scenario = await MeasureAsync(prober, name, async () => digest = await PushAsync(badImage, tagged, cancellationToken).ConfigureAwait(false),
            _ => false, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);

        // Done when the deployer has quarantined the bad digest and the live version serves again.
        var start = prober.NowMs;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (prober.NowMs - start < timeout.TotalMilliseconds && !cancellationToken.IsCancellationRequested)
        {
            string status;
            try
            {
                status = await http.GetStringAsync(new Uri(admin, "/status"), cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException)
            {
                status = "";
            }

            if (digest is not null && status.Contains(digest, StringComparison.Ordinal)
                && status.Contains("quarantin", StringComparison.OrdinalIgnoreCase)
                && prober.Last is { Serving: true } last && last.ModelVersion == liveVersion)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        }

        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
        var downtime = Downtime.From(prober.Probes, start - (scenario.PushSeconds * 1000) - 1);
        Console.WriteLine($"{name}: longest outage {downtime.LongestMs:0} ms, {downtime.FailedProbes} failed probes, serving {prober.Last?.ModelVersion ?? "nothing"}");
        return scenario with { Downtime = downtime, ServingAtEnd = prober.Last?.ModelVersion, PushToServingMs = null };
    }

    /// <summary>The last quality gate in the deployer's /status: its duration and a one-line summary.</summary>
    private static async Task<(double? DurationMs, int? Rows, string Summary)> ReadQualityGateAsync(Uri admin, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var status = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri(admin, "/status"), cancellationToken).ConfigureAwait(false));
        if (status.RootElement.GetProperty("qualityGate") is not { ValueKind: System.Text.Json.JsonValueKind.Object } gate)
        {
            return (null, null, "off (no gate in /status)");
        }

        var ms = gate.GetProperty("durationMs").GetDouble();
        var rows = gate.GetProperty("rows").GetInt32();
        var live = gate.GetProperty("live") is { ValueKind: System.Text.Json.JsonValueKind.Object } l ? $"{l.GetProperty("rmse").GetDouble():0.00}" : "none";
        return (Math.Round(ms, 1), rows,
            $"{gate.GetProperty("result").GetString()} in {ms:0.0} ms on {rows} rows (candidate RMSE {gate.GetProperty("candidate").GetProperty("rmse").GetDouble():0.00}, live {live})");
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

    private static ChildProcess StartDeployer(string command, Dictionary<string, string> env, bool preflight, string work, string run)
    {
        var parts = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var vars = new Dictionary<string, string>(env, StringComparer.Ordinal)
        {
            ["Deployer__Preflight__Enabled"] = preflight ? "true" : "false",
        };
        var child = ChildProcess.Start(parts[0], parts[1..], vars);
        _ = CopyAsync(child, Path.Combine(work, $"deployer-{run}.log"));
        return child;
    }

    private static async Task CopyAsync(ChildProcess child, string path)
    {
        var file = File.CreateText(path);
        await using var fileDisposal = file.ConfigureAwait(false);
        var stderr = child.Process.StandardError.ReadToEndAsync();
        while (await child.Process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            await file.WriteLineAsync(line).ConfigureAwait(false);
            await file.FlushAsync().ConfigureAwait(false);
        }

        await file.WriteAsync(await stderr.ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>Tags and pushes; returns the pushed manifest digest.</summary>
    private static async Task<string> PushAsync(string image, string tagged, CancellationToken cancellationToken)
    {
        await StartupMode.DockerAsync(["tag", image, tagged], cancellationToken).ConfigureAwait(false);
        var output = await StartupMode.DockerAsync(["push", tagged], cancellationToken).ConfigureAwait(false);
        return DigestPattern().Match(output) is { Success: true } m ? m.Value : "";
    }

    /// <summary>The predictor image pointed at a model file that does not exist: it exits at start, like an image built without its model.</summary>
    private static async Task<string> BuildBadImageAsync(string baseImage, string id, int n, CancellationToken cancellationToken)
    {
        var name = $"bench-bad-{id}:{n}";
        var dir = Directory.CreateTempSubdirectory("bench-bad-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "Dockerfile"),
                $"FROM {baseImage}\nENV Predictor__ModelPath=/nonexistent/model.zip\nLABEL bench.bad=\"{id}-{n}\"\n", cancellationToken).ConfigureAwait(false);
            await StartupMode.DockerAsync(["build", "-q", "-t", name, dir], cancellationToken).ConfigureAwait(false);
            return name;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task CleanUpAsync(string container, string repository, string tagged, List<string> badImages)
    {
        var names = await StartupMode.DockerAsync(["ps", "-a", "--format", "{{.Names}}"], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        foreach (var name in names.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(n => n.StartsWith(container, StringComparison.Ordinal)))
        {
            await StartupMode.DockerAsync(["rm", "-f", name], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        }

        // Images the deployer pulled by digest have no tag: remove them as repository@digest.
        var images = await StartupMode.DockerAsync(["images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        var references = images.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .Where(f => f.Length == 3 && f[0].Contains(repository, StringComparison.Ordinal))
            .Select(f => f[1] != "<none>" ? $"{f[0]}:{f[1]}" : $"{f[0]}@{f[2]}");
        foreach (var image in references.Append(tagged).Concat(badImages).Distinct())
        {
            await StartupMode.DockerAsync(["rmi", image], CancellationToken.None, throwOnError: false).ConfigureAwait(false);
        }
    }

    [GeneratedRegex("sha256:[0-9a-f]{64}")]
    private static partial Regex DigestPattern();

    private sealed record Scenario(string Name, double PushSeconds, double? PushToServingMs, Downtime Downtime, string? ServingAtEnd);
}
