extern alias deployer;

using System.Diagnostics;
using System.Globalization;
using deployer::StudentPerformance.Deployer.Containers;
using deployer::StudentPerformance.Deployer.Edge;
using Microsoft.Extensions.Logging.Abstractions;
using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Rollout;

namespace StudentPerformance.Bench.Modes;

/// <summary>
/// <c>edge</c>: how to switch blue/green slots behind HAProxy (docs/edge.md). Runs Debian's haproxy on loopback with
/// the deployer's own rendered configuration, and real predictor processes as slots. Three clients call Health/Check
/// every 20 ms (a new connection per call and a long-lived fast-backoff channel, both Python grpcio; a long-lived
/// grpc-dotnet channel with default settings) and their failed calls are counted for:
/// <list type="bullet">
/// <item><c>recreate</c>: today's swap, straight to the predictor's port: stop it, start the next one on the same port;</item>
/// <item><c>runtime</c>: through the edge; the candidate starts in the free slot, the runtime API switches, the old slot drains and stops;</item>
/// <item><c>reload</c>: the same, but the switch rewrites the file and reloads HAProxy seamlessly (SIGUSR2 to the master).</item>
/// </list>
/// Then Predict throughput (h2load) and p50 latency (one grpc-dotnet call at a time), direct and through the edge,
/// alternating rounds.
/// </summary>
internal static class EdgeMode
{
    private static readonly TimeProvider Clock = TimeProvider.System;

    private const int GrpcPort = 8000;
    private const int HttpPort = 8080;

    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var switches = options.Int("switches", 5, 1, 100);
        var methods = options.String("methods", "recreate,runtime,reload").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var interval = options.Seconds("interval", 0.020, 1);
        var deadline = options.Seconds("deadline", 0.5, 10);
        var requests = options.Int("requests", 50_000, 0, 10_000_000);
        var rounds = options.Int("rounds", 3, 1, 20);
        var latencySeconds = options.Seconds("latency-seconds", 5, 120);
        var haproxy = options.String("haproxy", "haproxy");
        var python = options.String("python", "/usr/bin/python3");
        options.ThrowOnUnknown();
        if (methods.Except(["recreate", "runtime", "reload"]).FirstOrDefault() is { } unknown)
        {
            throw new UsageException($"--methods: unknown method '{unknown}' (recreate, runtime, reload)");
        }

        var work = Directory.CreateTempSubdirectory("bench-edge-").FullName;
        var rig = new Rig(work, haproxy);
        await using var rigDisposal = rig.ConfigureAwait(false);
        try
        {
            var results = new List<SwitchResult>();
            foreach (var method in methods)
            {
                results.Add(await MeasureSwitchesAsync(rig, method, switches, interval, deadline, python, cancellationToken).ConfigureAwait(false));
            }

            Report.Print(["method", "switches", "client", "calls", "failed", "codes"],
                [.. results.SelectMany(r => r.Clients.Select(c => new List<string>
                {
                    r.Method, Report.F(r.Switches), c.Client, Report.F(c.Calls), Report.F(c.Failed), c.CodesText,
                }))]);

            var throughput = requests > 0 ? await MeasureThroughputAsync(rig, requests, rounds, cancellationToken).ConfigureAwait(false) : null;
            var latency = latencySeconds > TimeSpan.Zero ? await MeasureLatencyAsync(rig, latencySeconds, rounds, cancellationToken).ConfigureAwait(false) : null;
            Report.JsonLine(new { mode = "edge", date = Report.Now(), load = Report.LoadAverage(), switches = results, throughput, latency });
            // The target (issue 9) is for the chosen switch, the runtime API; the other methods are there to compare.
            return results.Where(r => r.Method == "runtime").All(r => r.Clients.All(c => c.Failed == 0)) ? 0 : 1;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<SwitchResult> MeasureSwitchesAsync(
        Rig rig, string method, int switches, TimeSpan interval, TimeSpan deadline, string python, CancellationToken cancellationToken)
    {
        Uri target;
        if (method == "recreate")
        {
            await rig.StopEdgeAsync().ConfigureAwait(false);
            target = await rig.StartDirectAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            target = await rig.StartEdgeAsync(cancellationToken).ConfigureAwait(false);
        }

        Console.WriteLine($"{method}: {switches} switches each way, clients on {target}");
        var clients = await ClientSet.StartAsync(target, interval, deadline, python).ConfigureAwait(false);
        await using var clientsDisposal = clients.ConfigureAwait(false);
        var started = Clock.GetTimestamp();
        for (var i = 0; i < switches * 2; i++)
        {
            var took = Clock.GetTimestamp();
            await ((method switch
            {
                "recreate" => rig.RecreateAsync(cancellationToken),
                "runtime" => rig.SwitchByRuntimeApiAsync(cancellationToken),
                _ => rig.SwitchByReloadAsync(cancellationToken),
            }).ConfigureAwait(false));
            Console.WriteLine(FormattableString.Invariant($"  {method} {i + 1}: live {rig.Live}, {Clock.GetElapsedTime(took).TotalSeconds:0.00} s"));
        }

        var results = await clients.StopAsync().ConfigureAwait(false);
        return new SwitchResult(method, switches * 2, Math.Round(Clock.GetElapsedTime(started).TotalSeconds, 1), results);
    }

    private static async Task<EdgeThroughput> MeasureThroughputAsync(Rig rig, int requests, int rounds, CancellationToken cancellationToken)
    {
        var edge = await rig.StartEdgeAsync(cancellationToken).ConfigureAwait(false);
        return await EdgeVersusDirect.ThroughputAsync(edge, rig.SlotAddress(rig.Live), rig.SlotPid, rig.Work, requests, rounds, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<EdgeLatency> MeasureLatencyAsync(Rig rig, TimeSpan seconds, int rounds, CancellationToken cancellationToken)
    {
        var edge = await rig.StartEdgeAsync(cancellationToken).ConfigureAwait(false);
        return await EdgeVersusDirect.LatencyAsync(edge, rig.SlotAddress(rig.Live), rig.SlotPid, seconds, rounds, cancellationToken).ConfigureAwait(false);
    }

    private sealed record SwitchResult(string Method, int Switches, double Seconds, IReadOnlyList<ClientResult> Clients);

    /// <summary>
    /// The slots (predictor processes on fixed loopback ports), the edge (haproxy, master-worker) and the deployer's
    /// HAProxy edge proxy driving it.
    /// </summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly string _haproxy;
        private readonly EdgeOptions _options;
        private readonly EdgeLayout _layout;
        private readonly HaproxyEdgeProxy _proxy;
        private readonly Dictionary<EdgeSlot, ChildProcess> _slots = [];
        private readonly int _edgeGrpcPort = RepoPaths.FreePort();
        private ChildProcess? _edge;

        public Rig(string work, string haproxy)
        {
            Work = work;
            _haproxy = haproxy;
            int Free() => RepoPaths.FreePort();
            _options = new EdgeOptions
            {
                ConfigDirectory = Path.Combine(work, "edge"),
                RuntimeApi = $"127.0.0.1:{Free()}",
                BluePorts = [$"{Free()}:{GrpcPort}", $"{Free()}:{HttpPort}"],
                GreenPorts = [$"{Free()}:{GrpcPort}", $"{Free()}:{HttpPort}"],
                CheckInterval = TimeSpan.FromMilliseconds(500),
                DrainTimeout = TimeSpan.FromSeconds(10),
                // The slots are processes on the host's loopback here, not containers (bench rollout measures those).
                SlotNetwork = "",
            };
            _layout = EdgeLayout.Create(
                [new PortBinding("127.0.0.1", _edgeGrpcPort, GrpcPort), new PortBinding("127.0.0.1", Free(), HttpPort)],
                GrpcPort, _options, EdgeSlot.Blue);
            _proxy = new HaproxyEdgeProxy(Microsoft.Extensions.Options.Options.Create(_options), TimeProvider.System, NullLogger<HaproxyEdgeProxy>.Instance);
        }

        public string Work { get; }

        public EdgeSlot Live { get; private set; } = EdgeSlot.Blue;

        public int SlotPid => _slots[Live].Pid;

        private string ConfigPath => Path.Combine(_options.ConfigDirectory, HaproxyConfig.FileName);

        public Uri SlotAddress(EdgeSlot slot) => new($"http://127.0.0.1:{_layout.Routes.Single(r => r.ContainerPort == GrpcPort).SlotPort(slot)}");

        /// <summary>Only the live slot, clients straight on its port (today's layout).</summary>
        public async Task<Uri> StartDirectAsync(CancellationToken cancellationToken)
        {
            await EnsureSlotAsync(Live, cancellationToken).ConfigureAwait(false);
            return SlotAddress(Live);
        }

        /// <summary>The live slot behind a running edge whose file names it.</summary>
        public async Task<Uri> StartEdgeAsync(CancellationToken cancellationToken)
        {
            await EnsureSlotAsync(Live, cancellationToken).ConfigureAwait(false);
            if (_edge is null || _edge.Process.HasExited)
            {
                await _proxy.WriteConfigAsync(_layout.WithLive(Live), cancellationToken).ConfigureAwait(false);
                _edge = ChildProcess.Start(_haproxy, ["-W", "-db", "-f", ConfigPath]);
                _ = _edge.DrainAsync();
            }

            var edge = new Uri($"http://127.0.0.1:{_edgeGrpcPort}");
            if (!await HaproxyProcesses.WaitAsync(async ct => (await _proxy.GetStateAsync(ct).ConfigureAwait(false))?.Live == Live, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"the edge did not route to slot {Live} within 30 s");
            }

            return edge;
        }

        public async Task StopEdgeAsync()
        {
            if (_edge is { } edge)
            {
                await edge.TerminateAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                edge.Dispose();
                _edge = null;
            }
        }

        /// <summary>Today's swap: stop the predictor, start the next one on the same port.</summary>
        public async Task RecreateAsync(CancellationToken cancellationToken)
        {
            await StopSlotAsync(Live).ConfigureAwait(false);
            await EnsureSlotAsync(Live, cancellationToken).ConfigureAwait(false);
        }

        public async Task SwitchByRuntimeApiAsync(CancellationToken cancellationToken)
        {
            var old = Live;
            var next = old.Other();
            await EnsureSlotAsync(next, cancellationToken).ConfigureAwait(false);
            await _proxy.SwitchAsync(_layout.WithLive(next), cancellationToken).ConfigureAwait(false);
            Live = next;
            await _proxy.DrainAsync(old, cancellationToken).ConfigureAwait(false);
            await StopSlotAsync(old).ConfigureAwait(false);
        }

        public async Task SwitchByReloadAsync(CancellationToken cancellationToken)
        {
            var old = Live;
            var next = old.Other();
            await EnsureSlotAsync(next, cancellationToken).ConfigureAwait(false);
            await _proxy.WriteConfigAsync(_layout.WithLive(next), cancellationToken).ConfigureAwait(false);
            var master = _edge!.Pid;
            var workersBefore = HaproxyProcesses.Workers(master);
            using (var signal = Process.Start("/bin/kill", ["-USR2", master.ToString(CultureInfo.InvariantCulture)]))
            {
                await signal.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }

            // The new worker answers the runtime API with the new file's state; the old one finishes its connections
            // (bounded by hard-stop-after) and exits.
            if (!await HaproxyProcesses.WaitAsync(async ct => HaproxyProcesses.Workers(master).Except(workersBefore).Any() && (await _proxy.GetStateAsync(ct).ConfigureAwait(false))?.Live == next, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false)
                || !await HaproxyProcesses.WaitAsync(_ => Task.FromResult(!HaproxyProcesses.Workers(master).Intersect(workersBefore).Any()), _options.DrainTimeout + TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("the reload did not complete");
            }

            Live = next;
            await StopSlotAsync(old).ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            await StopEdgeAsync().ConfigureAwait(false);
            foreach (var slot in _slots.Keys.ToList())
            {
                await StopSlotAsync(slot).ConfigureAwait(false);
            }
        }

        private async Task EnsureSlotAsync(EdgeSlot slot, CancellationToken cancellationToken)
        {
            if (_slots.TryGetValue(slot, out var running) && !running.Process.HasExited)
            {
                return;
            }

            var ports = EdgeLayout.SlotBindings(_options, slot).ToDictionary(b => b.ContainerPort, b => b.HostPort);
            var dll = Path.Combine(RepoPaths.Root(), "services", "Predictor", "bin", "Release", "net10.0", "Predictor.dll");
            var child = ChildProcess.Start("dotnet", [dll], new Dictionary<string, string>
            {
                ["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{ports[GrpcPort]}",
                ["Kestrel__Endpoints__Http__Url"] = $"http://127.0.0.1:{ports[HttpPort]}",
                ["Logging__LogLevel__Default"] = "Warning",
            });
            _ = child.DrainAsync();
            _slots[slot] = child;
            var (_, serving) = await Target.WaitServingAsync(SlotAddress(slot), Clock.GetTimestamp(), TimeSpan.FromSeconds(60), () => child.Process.HasExited, cancellationToken).ConfigureAwait(false);
            if (serving is null)
            {
                throw new InvalidOperationException($"slot {slot} ({dll}) did not reach SERVING within 60 s; build services/Predictor in Release first");
            }
        }

        private async Task StopSlotAsync(EdgeSlot slot)
        {
            if (_slots.Remove(slot, out var child))
            {
                await child.TerminateAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
                child.Dispose();
            }
        }

    }
}
