using System.Text.Json;
using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Rollout;

namespace StudentPerformance.Bench.Modes;

/// <summary>
/// <c>rollout</c>: the deployer's rollouts as clients see them (issue 9). It starts a local registry (docker-registry)
/// and the Release deployer (OCI mode, 1 s poll) with <c>Deployer:Strategy</c> = <c>--strategy</c>, pushes v1 and
/// waits for it to be live, then starts the three clients of <see cref="ClientSet"/> on the public port (the edge's
/// under BlueGreen, the container's under Recreate) and, per scenario, h2load for Predict on the same port:
/// <list type="bullet">
/// <item><c>good</c>: v2 is pushed and goes live;</item>
/// <item><c>gate</c>: v2 under another digest, which serves and passes preflight, then crashes (its process SIGKILLed
/// from the host <c>--crash-delay</c> seconds after the deployer logs the start of the health gate; again at every
/// later gate of it): rolled back and quarantined;</item>
/// <item><c>bake</c>: the same, crashing after the gate has passed, during <c>Deployer:HealthGate:BakeTime</c>: rolled
/// back and quarantined.</item>
/// </list>
/// The crash is timed by the deployer's own log, not by a timer inside the image: under this machine's load,
/// preflight alone took from 1 to 12 s, so an image that exits N seconds after its start fails in preflight, the gate
/// or the bake by chance.
/// First, with <c>--baseline</c>, the same clients and h2load for a while with no rollout: what the machine's load alone
/// costs. A scenario ends when /status shows the expected state. Under BlueGreen it then measures Predict through the edge
/// against the live slot's own loopback port (h2load throughput, and p50 with one call in flight). Everything runs on
/// loopback with names that start with the run's prefix, and is removed at the end.
/// </summary>
internal static class RolloutMode
{
    public static readonly string[] Strategies = ["BlueGreen", "Recreate"];

    private static readonly string[] AllScenarios = ["good", "gate", "bake"];

    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var v1 = options.StringOrNull("v1-image") ?? throw new UsageException("--v1-image is required (a predictor image)");
        var v2 = options.StringOrNull("v2-image") ?? throw new UsageException("--v2-image is required (a predictor image whose model version differs)");
        var strategy = Strategy(options);
        var edgeImage = options.StringOrNull("edge-image");
        var port = options.Int("port", 0, 0, 65535);
        var interval = options.Seconds("interval", 0.020, 1);
        var deadline = options.Seconds("deadline", 0.5, 10);
        var timeout = options.Seconds("timeout", 180, 1800);
        var bakeTime = options.Seconds("bake-time", 20, 3600);
        var crashDelay = options.Seconds("crash-delay", 1, 600);
        var baseline = options.Seconds("baseline", 30, 600);
        var scenarios = options.String("scenarios", string.Join(',', AllScenarios)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var rps = options.Int("h2load-rps", 500, 0, 1_000_000);
        var requests = options.Int("requests", 50_000, 0, 10_000_000);
        var rounds = options.Int("rounds", 3, 1, 20);
        var latencySeconds = options.Seconds("latency-seconds", 5, 120);
        var python = options.String("python", "/usr/bin/python3");
        var deployer = DeployerCommand(options);
        var deployerEnv = options.All("deployer-env");
        options.ThrowOnUnknown();
        if (scenarios.Except(AllScenarios).FirstOrDefault() is { } unknown)
        {
            throw new UsageException($"--scenarios: unknown scenario '{unknown}' ({string.Join(", ", AllScenarios)})");
        }

        if (strategy == "Recreate" && edgeImage is not null)
        {
            throw new UsageException("--edge-image goes with --strategy BlueGreen (Recreate has no edge)");
        }

        port = port == 0 ? RepoPaths.FreePort() : port;
        var rig = await DeployerRig.StartAsync("rollout", strategy, port, bakeTime, deployer, deployerEnv, cancellationToken).ConfigureAwait(false);
        await using var rigDisposal = rig.ConfigureAwait(false);
        var publicAddress = new Uri($"http://127.0.0.1:{port}");
        Console.WriteLine($"strategy {strategy}, prefix {rig.Prefix}, registry 127.0.0.1:{rig.RegistryPort}, public port {port}, bake {bakeTime.TotalSeconds} s, load {Report.LoadAverage()}");
        if (strategy == "BlueGreen")
        {
            Console.WriteLine($"edge image {await rig.UseEdgeImageAsync(edgeImage, cancellationToken).ConfigureAwait(false)}");
        }

        var gateImage = await rig.BuildVariantAsync("gate-fail", v2, cancellationToken).ConfigureAwait(false);
        var bakeImage = await rig.BuildVariantAsync("bake-fail", v2, cancellationToken).ConfigureAwait(false);

        var v1Digest = await rig.PushAsync(v1, cancellationToken).ConfigureAwait(false);
        rig.StartDeployer();
        var (first, firstView, firstSeconds) = await rig.WaitForAsync(v => v.IsLive(v1Digest), timeout, cancellationToken).ConfigureAwait(false);
        if (!first)
        {
            throw new InvalidOperationException($"v1 was not live within {timeout.TotalSeconds} s (/status: {firstView}; deployer log: {rig.DeployerLog})");
        }

        Console.WriteLine($"v1 live {firstSeconds} s after the deployer started (slot {firstView!.LiveSlot ?? "-"})");
        var gateV1 = await ReadQualityGateAsync(rig, cancellationToken).ConfigureAwait(false);
        var frame = Path.Combine(rig.Work, "predict.grpc");
        await File.WriteAllBytesAsync(frame, H2loadMode.Frame(new StudentPerformance.V1.PredictRequest { Student = Load.RequestMix.Fixed() }), cancellationToken).ConfigureAwait(false);

        var results = new List<ScenarioResult>();
        var live = v1Digest;
        (double? DurationMs, int? Rows, string Summary) gateV2 = (null, null, "no good rollout");
        var clients = await ClientSet.StartAsync(publicAddress, interval, deadline, python, TimeSpan.FromHours(2)).ConfigureAwait(false);
        await using (clients.ConfigureAwait(false))
        {
            if (baseline > TimeSpan.Zero)
            {
                results.Add(await MeasureBaselineAsync(clients, baseline, publicAddress, frame, rps, cancellationToken).ConfigureAwait(false));
            }

            foreach (var scenario in scenarios)
            {
                var (image, expected, crash) = scenario switch
                {
                    "good" => (v2, "Succeeded", null),
                    "gate" => (gateImage, "RolledBack", ("gate-fail", "step health gate started")),
                    _ => (bakeImage, "RolledBack", ((string, string)?)("bake-fail", "step bake started")),
                };
                var result = await MeasureAsync(rig, clients, scenario, image, expected, crash, crashDelay, live, publicAddress, frame, rps, timeout, cancellationToken).ConfigureAwait(false);
                results.Add(result);
                live = result.LiveDigest ?? live;
                if (scenario == "good")
                {
                    gateV2 = await ReadQualityGateAsync(rig, cancellationToken).ConfigureAwait(false);
                }
            }

            await clients.StopAsync().ConfigureAwait(false);
        }

        Report.Print(["scenario", "outcome", "expected", "converged s", "client", "calls", "failed", "codes", "h2load req", "h2load not ok", "failed/errored/timeout", "h2load req/s"],
            [.. results.SelectMany(r => r.Clients.Select(c => new List<string>
            {
                r.Name, r.Outcome ?? "-", r.Expected, r.Converged ? Report.F(r.Seconds) : "NO", c.Client, Report.F(c.Calls), Report.F(c.Failed), c.CodesText,
                Report.F(r.H2load.Requests), Report.F(r.H2load.NotSucceeded), $"{r.H2load.Failed}/{r.H2load.Errored}/{r.H2load.Timeout}", Report.F(r.H2load.RequestsPerSecond),
            }))]);
        Console.WriteLine($"quality gate: v1 {gateV1.Summary}; v2 {gateV2.Summary}");

        EdgeThroughput? throughput = null;
        EdgeLatency? latency = null;
        if (strategy == "BlueGreen" && (requests > 0 || latencySeconds > TimeSpan.Zero))
        {
            if (await rig.LiveSlotAsync(cancellationToken).ConfigureAwait(false) is { } slot)
            {
                var direct = rig.SlotAddress(slot);
                var container = rig.SlotContainerAddress(slot);
                var pid = await DeployerRig.ContainerPidAsync(rig.SlotContainer(slot)).ConfigureAwait(false);
                Console.WriteLine($"Predict through the edge ({publicAddress}) vs direct to the live slot {slot} ({container?.ToString() ?? "no container address"} and its published port {direct})");
                throughput = requests > 0 ? await EdgeVersusDirect.ThroughputAsync(publicAddress, direct, pid, rig.Work, requests, rounds, cancellationToken, container).ConfigureAwait(false) : null;
                latency = latencySeconds > TimeSpan.Zero ? await EdgeVersusDirect.LatencyAsync(publicAddress, direct, pid, latencySeconds, rounds, cancellationToken, container).ConfigureAwait(false) : null;
            }
            else
            {
                Console.WriteLine("neither /status nor the edge names a live slot: edge vs direct not measured");
            }
        }

        Report.JsonLine(new
        {
            mode = "rollout",
            date = Report.Now(),
            strategy,
            bake_time_s = bakeTime.TotalSeconds,
            probe_interval_ms = interval.TotalMilliseconds,
            deadline_ms = deadline.TotalMilliseconds,
            h2load_rps = rps,
            scenarios = results,
            quality_gate_v1_ms = gateV1.DurationMs,
            quality_gate_v2_ms = gateV2.DurationMs,
            throughput,
            latency,
        });
        return results.All(r => r.Converged && r.Outcome == r.Expected) ? 0 : 1;
    }

    /// <summary><c>--strategy</c>: BlueGreen (the default) or Recreate.</summary>
    internal static string Strategy(Options options)
    {
        var text = options.String("strategy", "BlueGreen");
        return Strategies.FirstOrDefault(s => s.Equals(text, StringComparison.OrdinalIgnoreCase))
            ?? throw new UsageException($"--strategy must be {string.Join(" or ", Strategies)}, got '{text}'");
    }

    internal static string DeployerCommand(Options options) => options.String("deployer-command",
        "dotnet " + Path.Combine(RepoPaths.Root(), "services", "Deployer", "bin", "Release", "net10.0", "Deployer.dll"));

    private static async Task<ScenarioResult> MeasureAsync(
        DeployerRig rig, ClientSet clients, string name, string image, string expected, (string Variant, string Step)? crash, TimeSpan crashDelay,
        string liveDigest, Uri publicAddress, string frame, int rps, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var before = await clients.SnapshotAsync().ConfigureAwait(false);
        var h2load = H2loadAcross.Start(publicAddress, frame, rps, TimeSpan.FromSeconds(5));
        await using var h2loadDisposal = h2load.ConfigureAwait(false);
        using var stopCrashing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var crashes = crash is { } c
            ? rig.CrashOnStepAsync(c.Variant, c.Step, rig.LogLines, crashDelay, stopCrashing.Token)
            : Task.FromResult(0);
        var digest = await rig.PushAsync(image, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"{name}: pushed {digest[..19]}, expecting {expected}");
        // A rollout that ends otherwise than expected (a gate refusing the good image) ends the wait too: it is reported
        // below as not converged, with the deployer's detail, instead of waiting out the timeout.
        var (ended, view, seconds) = await rig.WaitForAsync(
            v => (expected == "Succeeded" ? v.IsLive(digest) : v.IsQuarantined(digest, liveDigest))
                || (v.LastRolloutDigest == digest && v.Outcome is { } o && o != expected),
            timeout, cancellationToken).ConfigureAwait(false);
        var converged = ended && !(view!.LastRolloutDigest == digest && view.Outcome is { } outcomeSeen && outcomeSeen != expected);
        await stopCrashing.CancelAsync().ConfigureAwait(false);
        var crashCount = await crashes.ConfigureAwait(false);

        // The clients and h2load keep going a little after the end: a flap right after it counts too.
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
        var counts = await h2load.StopAsync().ConfigureAwait(false);
        var after = await clients.SnapshotAsync().ConfigureAwait(false);
        var perClient = after.Zip(before, (a, b) => a.Since(b)).ToList();
        var outcome = view?.LastRolloutDigest == digest ? view.Outcome : null;
        Console.WriteLine($"{name}: {(converged ? $"converged in {seconds} s" : $"NOT converged within {timeout.TotalSeconds} s")}, outcome {outcome ?? "-"} ({view?.Detail}), " +
            $"failed calls {string.Join(", ", perClient.Select(c => $"{c.Client} {c.Failed}/{c.Calls}"))}; h2load {counts.NotSucceeded} of {counts.Requests} not ok");
        return new ScenarioResult(name, expected, outcome, view?.Detail, converged, seconds, crashCount, perClient, counts,
            converged ? view!.RunningDigest : null);
    }

    /// <summary>The same clients and h2load with no rollout at all: what the machine's load alone costs.</summary>
    private static async Task<ScenarioResult> MeasureBaselineAsync(
        ClientSet clients, TimeSpan duration, Uri publicAddress, string frame, int rps, CancellationToken cancellationToken)
    {
        var before = await clients.SnapshotAsync().ConfigureAwait(false);
        var h2load = H2loadAcross.Start(publicAddress, frame, rps, TimeSpan.FromSeconds(5));
        await using var h2loadDisposal = h2load.ConfigureAwait(false);
        await Task.Delay(duration, cancellationToken).ConfigureAwait(false);
        var counts = await h2load.StopAsync().ConfigureAwait(false);
        var after = await clients.SnapshotAsync().ConfigureAwait(false);
        var perClient = after.Zip(before, (a, b) => a.Since(b)).ToList();
        Console.WriteLine($"baseline, no rollout, {duration.TotalSeconds} s: failed calls {string.Join(", ", perClient.Select(c => $"{c.Client} {c.Failed}/{c.Calls}"))}; h2load {counts.NotSucceeded} of {counts.Requests} not ok");
        return new ScenarioResult("baseline", "-", "-", "no rollout", true, Math.Round(duration.TotalSeconds, 1), 0, perClient, counts, null);
    }

    /// <summary>The last quality gate in the deployer's /status: its duration and a one-line summary.</summary>
    private static async Task<(double? DurationMs, int? Rows, string Summary)> ReadQualityGateAsync(DeployerRig rig, CancellationToken cancellationToken)
    {
        using var http = rig.AdminClient(TimeSpan.FromSeconds(5));
        using var status = JsonDocument.Parse(await http.GetStringAsync(new Uri(rig.Admin, "/status"), cancellationToken).ConfigureAwait(false));
        if (status.RootElement.GetProperty("qualityGate") is not { ValueKind: JsonValueKind.Object } gate)
        {
            return (null, null, "off (no gate in /status)");
        }

        var ms = gate.GetProperty("durationMs").GetDouble();
        var rows = gate.GetProperty("rows").GetInt32();
        var live = gate.GetProperty("live") is { ValueKind: JsonValueKind.Object } l ? $"{l.GetProperty("rmse").GetDouble():0.00}" : "none";
        return (Math.Round(ms, 1), rows,
            $"{gate.GetProperty("result").GetString()} in {ms:0.0} ms on {rows} rows (candidate RMSE {gate.GetProperty("candidate").GetProperty("rmse").GetDouble():0.00}, live {live})");
    }

    private sealed record ScenarioResult(
        string Name, string Expected, string? Outcome, string? Detail, bool Converged, double Seconds, int Crashes,
        IReadOnlyList<ClientResult> Clients, H2loadCounts H2load, string? LiveDigest);
}
