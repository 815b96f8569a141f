using System.Globalization;
using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Rollout;

namespace StudentPerformance.Bench.Modes;

/// <summary>
/// <c>soak</c>: many BlueGreen rollouts in a row (issue 9), cycling a good image (v2 and v1 in turn), a never-serving
/// one (preflight refuses it) and one that serves and crashes during the health gate (its process SIGKILLed from the
/// host a second after the deployer logs the gate's start, at every gate of it: rolled back), while the three
/// clients of <see cref="ClientSet"/> call through the edge the whole time. In some rollouts (<c>--kill-chance</c>,
/// seeded) the deployer is SIGKILLed at a random moment after the push and started again at once. Each rollout must
/// converge within <c>--converge-timeout</c>: the good digest live, or the bad one quarantined with the previous one
/// still live. At the end, every container with the run's prefix other than the edge and the live slot is a
/// container left behind. Exits 1 when a rollout did not converge or anything was left behind.
/// <para>
/// Faults of the edge (issue 17, off by default): in a share of the rollouts (<c>--refuse-chance</c>, seeded apart from
/// the kills so that a seed kills the deployer at the same moments with or without them) the edge's runtime API refuses
/// connections for <c>--refuse-seconds</c> from a random moment within <c>--fault-within</c> of the push; in another
/// share (<c>--edge-restart-chance</c>) the edge container is restarted at such a moment. The calls lost while the edge
/// itself is away (from <c>docker restart</c> until every client is answered again, <see cref="EdgeFaults"/>) are
/// counted apart: no deployer can serve through a stopped proxy.
/// </para>
/// </summary>
internal static class SoakMode
{
    private static readonly string[] Kinds = ["good", "never-serving", "gate-fail"];

    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var v1 = options.StringOrNull("v1-image") ?? throw new UsageException("--v1-image is required (a predictor image)");
        var v2 = options.StringOrNull("v2-image") ?? throw new UsageException("--v2-image is required (a predictor image whose model version differs)");
        var rollouts = options.Int("rollouts", 30, 1, 1000);
        var killChance = options.Double("kill-chance", 0.3, 0, 1);
        var killWithin = options.Seconds("kill-within", 15, 600);
        var seed = options.Int("seed", 42);
        var edgeImage = options.StringOrNull("edge-image");
        var interval = options.Seconds("interval", 0.020, 1);
        var deadline = options.Seconds("deadline", 0.5, 10);
        var convergeTimeout = options.Seconds("converge-timeout", 240, 3600);
        var bakeTime = options.Seconds("bake-time", 5, 3600);
        var crashDelay = options.Seconds("crash-delay", 1, 600);
        var preflightTimeout = options.Seconds("preflight-timeout", 20, 600);
        var leftoverWait = options.Seconds("leftover-wait", 60, 3600);
        var refuseChance = options.Double("refuse-chance", 0, 0, 1);
        var refuseFor = options.Seconds("refuse-seconds", 20, 600);
        var restartChance = options.Double("edge-restart-chance", 0, 0, 1);
        var faultWithin = options.Seconds("fault-within", 30, 600);
        var python = options.String("python", "/usr/bin/python3");
        var deployer = RolloutMode.DeployerCommand(options);
        var deployerEnv = options.All("deployer-env");
        options.ThrowOnUnknown();

        var port = RepoPaths.FreePort();
        var rig = await DeployerRig.StartAsync("soak", "BlueGreen", port, bakeTime, deployer,
            ["Deployer__Preflight__Timeout=" + preflightTimeout.ToString("c", CultureInfo.InvariantCulture), .. deployerEnv], cancellationToken).ConfigureAwait(false);
        await using var rigDisposal = rig.ConfigureAwait(false);
        var publicAddress = new Uri($"http://127.0.0.1:{port}");
        var random = new Random(seed);
        var faultRandom = new Random(unchecked(seed * 31 + 17));
        var runtimeApiPort = int.Parse(rig.Env["Deployer__Edge__RuntimeApi"].Split(':')[^1], CultureInfo.InvariantCulture);
        Console.WriteLine($"soak: {rollouts} rollouts, prefix {rig.Prefix}, public port {port}, kill chance {killChance}, seed {seed}, " +
            $"runtime-API refusal chance {refuseChance} ({refuseFor.TotalSeconds} s), edge restart chance {restartChance}, within {faultWithin.TotalSeconds} s of the push, load {Report.LoadAverage()}");
        Console.WriteLine($"edge image {await rig.UseEdgeImageAsync(edgeImage, cancellationToken).ConfigureAwait(false)}");
        var images = new Dictionary<string, string>
        {
            ["never-serving"] = await rig.BuildNeverServingAsync(v2, cancellationToken).ConfigureAwait(false),
            ["gate-fail"] = await rig.BuildVariantAsync("gate-fail", v2, cancellationToken).ConfigureAwait(false),
        };

        var live = await rig.PushAsync(v1, cancellationToken).ConfigureAwait(false);
        rig.StartDeployer();
        var (first, firstView, _) = await rig.WaitForAsync(v => v.IsLive(live), convergeTimeout, cancellationToken).ConfigureAwait(false);
        if (!first)
        {
            throw new InvalidOperationException($"v1 was not live within {convergeTimeout.TotalSeconds} s (/status: {firstView}; deployer log: {rig.DeployerLog})");
        }

        var started = TimeProvider.System.GetTimestamp();
        var rows = new List<SoakRollout>();
        IReadOnlyList<ClientResult> totals;
        var clients = await ClientSet.StartAsync(publicAddress, interval, deadline, python, TimeSpan.FromHours(6)).ConfigureAwait(false);
        await using (clients.ConfigureAwait(false))
        {
            for (var i = 0; i < rollouts; i++)
            {
                var kind = Kinds[i % Kinds.Length];
                var image = kind == "good" ? ((i / Kinds.Length) % 2 == 0 ? v2 : v1) : images[kind];
                double? killAt = random.NextDouble() < killChance ? Math.Round(random.NextDouble() * killWithin.TotalSeconds, 1) : null;
                double? refuseAt = faultRandom.NextDouble() < refuseChance ? Math.Round(faultRandom.NextDouble() * faultWithin.TotalSeconds, 1) : null;
                double? restartAt = faultRandom.NextDouble() < restartChance ? Math.Round(faultRandom.NextDouble() * faultWithin.TotalSeconds, 1) : null;
                var before = await clients.SnapshotAsync().ConfigureAwait(false);
                using var stopCrashing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var crashes = kind == "gate-fail"
                    ? rig.CrashOnStepAsync("gate-fail", "step health gate started", rig.LogLines, crashDelay, stopCrashing.Token)
                    : Task.FromResult(0);
                var digest = await rig.PushAsync(image, cancellationToken).ConfigureAwait(false);
                var pushed = TimeProvider.System.GetTimestamp();
                var previous = live;
                Func<DeployerView, bool> done = kind == "good" ? v => v.IsLive(digest) : v => v.IsQuarantined(digest, previous);
                var label = $"rollout {i + 1}";
                var refusal = refuseAt is { } refuseDelay
                    ? EdgeFaults.RefuseRuntimeApiAsync(runtimeApiPort, TimeSpan.FromSeconds(refuseDelay), refuseFor, $"{label}, {refuseDelay} s after the push", cancellationToken)
                    : Task.CompletedTask;
                var restart = restartAt is { } restartDelay
                    ? EdgeFaults.RestartEdgeAsync(rig.EdgeName, publicAddress, clients, TimeSpan.FromSeconds(restartDelay), $"{label}, {restartDelay} s after the push", cancellationToken)
                    : Task.FromResult<EdgeRestartResult?>(null);
                if (killAt is { } at)
                {
                    var waited = TimeSpan.FromSeconds(at);
                    await Task.Delay(waited, cancellationToken).ConfigureAwait(false);
                    var phase = (await rig.StatusAsync(cancellationToken).ConfigureAwait(false))?.Phase;
                    await rig.KillDeployerAsync().ConfigureAwait(false);
                    Console.WriteLine($"  rollout {i + 1}: deployer SIGKILLed {at} s after the push (phase {phase ?? "none"}); restarting it");
                    rig.StartDeployer();
                }

                var remaining = convergeTimeout - TimeProvider.System.GetElapsedTime(pushed);
                var (converged, view, _) = await rig.WaitForAsync(done, remaining, cancellationToken).ConfigureAwait(false);
                var seconds = Math.Round(TimeProvider.System.GetElapsedTime(pushed).TotalSeconds, 1);

                // A fault may come after the rollout converged: the state must hold through it too.
                await refusal.ConfigureAwait(false);
                var restarted = await restart.ConfigureAwait(false);
                if (converged && (refuseAt is not null || restartAt is not null))
                {
                    (converged, view, _) = await rig.WaitForAsync(done, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                }

                await stopCrashing.CancelAsync().ConfigureAwait(false);
                await crashes.ConfigureAwait(false);
                if (converged && kind == "good")
                {
                    live = digest;
                }
                else if (!converged && view?.RunningDigest is { } running)
                {
                    // Go on from what is live now, so one stuck rollout is not counted again in every later one.
                    live = running;
                }

                var after = await clients.SnapshotAsync().ConfigureAwait(false);
                var failed = after.Zip(before, (a, b) => a.Since(b).Failed).ToList();
                var whileEdgeAway = restarted?.FailedWhileDown ?? failed.Select(_ => 0L).ToList();
                var row = new SoakRollout(i + 1, kind, digest, killAt, refuseAt, restartAt, converged, seconds, view?.LastRolloutDigest == digest ? view.Outcome : null,
                    converged ? null : view?.ToString(), failed, whileEdgeAway, restarted?.DownSeconds, restarted?.RecoverySeconds);
                rows.Add(row);
                Console.WriteLine($"rollout {row.N}/{rollouts} {kind}: {(converged ? "converged" : "NOT CONVERGED")} in {seconds} s, outcome {row.Outcome ?? "-"}" +
                    $"{(killAt is null ? "" : $", deployer killed at {killAt} s")}{(refuseAt is null ? "" : $", runtime API refused from {refuseAt} s")}" +
                    $"{(restartAt is null ? "" : $", edge restarted at {restartAt} s")}, failed calls {string.Join('/', failed)}" +
                    $"{(restarted is null ? "" : $" (of which while the edge was away: {string.Join('/', whileEdgeAway)})")} (load {Report.LoadAverage()})");
                if (!converged)
                {
                    Console.WriteLine($"  /status: {view}");
                }
            }

            totals = await clients.StopAsync().ConfigureAwait(false);
        }

        var minutes = Math.Round(TimeProvider.System.GetElapsedTime(started).TotalMinutes, 1);

        // After the last rollout's bake the old slot is stopped; give the deployer a bounded while to tidy up.
        var leftovers = await LeftoversAsync(rig, cancellationToken).ConfigureAwait(false);
        var waitedFrom = TimeProvider.System.GetTimestamp();
        while (leftovers.Count > 0 && TimeProvider.System.GetElapsedTime(waitedFrom) < leftoverWait)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            leftovers = await LeftoversAsync(rig, cancellationToken).ConfigureAwait(false);
        }

        Report.Print(["client", "calls", "failed", "codes"], [.. totals.Select(c => new List<string> { c.Client, Report.F(c.Calls), Report.F(c.Failed), c.CodesText })]);
        string Sum(IEnumerable<SoakRollout> g, Func<SoakRollout, IReadOnlyList<long>> of) =>
            string.Join('/', Enumerable.Range(0, ClientSet.Names.Count).Select(c => g.Sum(r => of(r)[c])));
        var clientNames = string.Join('/', ClientSet.Names);
        Report.Print(["kind", "rollouts", "converged", "deployer kills", "refusals", "edge restarts", $"failed calls ({clientNames})", "of which while the edge was away"],
            [.. Kinds.Select(k => rows.Where(r => r.Kind == k).ToList()).Select(g => new List<string>
            {
                g.Count > 0 ? g[0].Kind : "-", Report.F(g.Count), Report.F(g.Count(r => r.Converged)), Report.F(g.Count(r => r.KilledAtS is not null)),
                Report.F(g.Count(r => r.RefusedAtS is not null)), Report.F(g.Count(r => r.EdgeRestartedAtS is not null)),
                Sum(g, r => r.Failed), Sum(g, r => r.FailedWhileEdgeAway),
            })]);
        Report.Print(["fault in the rollout", "rollouts", "converged", $"failed calls ({clientNames})", "of which while the edge was away"],
            [.. new (string Name, Func<SoakRollout, bool> Has)[]
            {
                ("none", r => r.KilledAtS is null && r.RefusedAtS is null && r.EdgeRestartedAtS is null),
                ("deployer SIGKILL", r => r.KilledAtS is not null),
                ("runtime API refused", r => r.RefusedAtS is not null),
                ("edge restarted", r => r.EdgeRestartedAtS is not null),
            }.Select(f => (f.Name, Rows: rows.Where(f.Has).ToList())).Select(f => new List<string>
            {
                f.Name, Report.F(f.Rows.Count), Report.F(f.Rows.Count(r => r.Converged)), Sum(f.Rows, r => r.Failed), Sum(f.Rows, r => r.FailedWhileEdgeAway),
            })]);
        var notConverged = rows.Where(r => !r.Converged).ToList();
        Console.WriteLine($"{rows.Count} rollouts in {minutes} min; not converged: {(notConverged.Count == 0 ? "none" : string.Join(", ", notConverged.Select(r => $"#{r.N} {r.Kind}")))}; " +
            $"left behind: {(leftovers.Count == 0 ? "none" : string.Join(", ", leftovers.Select(l => $"{l.Name} ({l.State})")))}");
        Report.JsonLine(new
        {
            mode = "soak",
            date = Report.Now(),
            minutes,
            seed,
            kill_chance = killChance,
            refuse_chance = refuseChance,
            refuse_s = refuseFor.TotalSeconds,
            edge_restart_chance = restartChance,
            fault_within_s = faultWithin.TotalSeconds,
            bake_time_s = bakeTime.TotalSeconds,
            clients = totals,
            rollouts = rows,
            not_converged = notConverged.Select(r => r.N),
            left_behind = leftovers.Select(l => $"{l.Name} ({l.State})"),
        });
        return notConverged.Count == 0 && leftovers.Count == 0 ? 0 : 1;
    }

    /// <summary>The run's containers other than the edge and the live slot.</summary>
    private static async Task<List<(string Name, string State)>> LeftoversAsync(DeployerRig rig, CancellationToken cancellationToken)
    {
        var keep = new HashSet<string>(StringComparer.Ordinal) { rig.EdgeName };
        if (await rig.LiveSlotAsync(cancellationToken).ConfigureAwait(false) is { } slot)
        {
            keep.Add(rig.SlotContainer(slot));
        }

        return [.. (await rig.ContainersAsync().ConfigureAwait(false)).Where(c => !keep.Contains(c.Name))];
    }

    private sealed record SoakRollout(
        int N, string Kind, string Digest, double? KilledAtS, double? RefusedAtS, double? EdgeRestartedAtS, bool Converged, double Seconds, string? Outcome,
        string? StatusWhenNotConverged, IReadOnlyList<long> Failed, IReadOnlyList<long> FailedWhileEdgeAway, double? EdgeAwayS, double? EdgeRecoveryS);
}
