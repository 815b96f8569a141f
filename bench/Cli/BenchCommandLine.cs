using System.CommandLine;
using System.CommandLine.Help;

namespace StudentPerformance.Bench.Cli;

/// <summary>
/// The benchmark's command line: one subcommand per mode, each declaring its options, so every mode has --help and
/// an unknown or valueless option is refused by name before anything starts. The values stay text here and are
/// converted, with range checks that name the option, by <see cref="Options"/> where each mode reads them.
/// </summary>
internal static class BenchCommandLine
{
    /// <summary>Runs one mode with the options given to it.</summary>
    public delegate Task<int> ModeRunner(Options options, CancellationToken cancellationToken);

    private enum Kind
    {
        Value,
        Flag,
        Repeated,
    }

    private static readonly (string Name, Kind Kind, string Help)[] TargetOptions =
    [
        ("address", Kind.Value, "a running predictor's gRPC address [default: http://127.0.0.1:8000]"),
        ("pid", Kind.Value, "the running predictor's process id (its CPU and RSS are read from /proc)"),
        ("start", Kind.Flag, "start the Release predictor on free loopback ports and stop it at the end"),
        ("command", Kind.Value, "start this command instead, e.g. \"dotnet X.dll\""),
        ("env", Kind.Repeated, "K=V for the started command; {port} and {port2} are its ports (repeatable)"),
    ];

    private static readonly (string Name, Kind Kind, string Help)[] MixOptions =
    [
        ("mix", Kind.Value, "fixed (one student) or random (valid students from the model's schema) [default: fixed]"),
        ("seed", Kind.Value, "seed of the random mix [default: 42]"),
    ];

    private static readonly (string Name, Kind Kind, string Help)[] LoadOptions =
    [
        ("connections", Kind.Value, "HTTP/2 connections"),
        ("per-connection", Kind.Value, "calls in flight per connection"),
        ("duration", Kind.Value, "seconds measured [default: 10]"),
        ("warmup", Kind.Value, "seconds of warm-up before measuring [default: 3]"),
        ("requests", Kind.Value, "stop after this many calls (0: run for --duration) [default: 0]"),
        ("sample-every", Kind.Value, "seconds between throughput samples (0: none) [default: 0]"),
    ];

    /// <summary>The root command; <paramref name="run"/> runs a mode by name with its parsed options.</summary>
    public static RootCommand Create(Func<string, ModeRunner> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var root = new RootCommand("Benchmarks of the predictor: load, batch, start-up, rollout, soak and the edge. Each mode prints a table and one JSON line.");
        Add(root, run, "echo", "A do-nothing predictor (same contract, h2c HTTP/2-only Kestrel): the stack's ceiling.",
        [
            ("port", Kind.Value, "port to listen on [default: 8001]"),
            ("max-seconds", Kind.Value, "stop after this many seconds [default: 3600]"),
        ]);
        Add(root, run, "predict", "Closed-loop Predict load; --compare-echo alternates rounds against the echo server.",
        [
            .. LoadOptions, .. MixOptions, .. TargetOptions,
            ("compare-echo", Kind.Flag, "alternate rounds against the in-run echo server"),
            ("rounds", Kind.Value, "rounds with --compare-echo [default: 3]"),
        ]);
        Add(root, run, "batch", "PredictBatch throughput in rows/s for each batch size.",
        [
            .. LoadOptions, .. MixOptions, .. TargetOptions,
            ("sizes", Kind.Value, "comma-separated batch sizes [default: 1,100,1000,10000]"),
            ("compare-echo", Kind.Flag, "run each size against the in-run echo server too"),
        ]);
        Add(root, run, "h2load", "The same Predict load from nghttp2's h2load, then from the C# client, to compare.",
        [
            .. TargetOptions,
            ("requests", Kind.Value, "calls per run [default: 200000]"),
            ("connections", Kind.Value, "HTTP/2 connections [default: 2]"),
            ("per-connection", Kind.Value, "calls in flight per connection [default: 16]"),
            ("warmup", Kind.Value, "seconds of warm-up [default: 3]"),
            ("compare-echo", Kind.Flag, "alternate rounds against the in-run echo server"),
            ("rounds", Kind.Value, "rounds [default: 3]"),
            ("no-client", Kind.Flag, "skip the C# client run"),
            ("frame-out", Kind.Value, "write the request frame h2load sends to this file"),
        ]);
        Add(root, run, "startup", "Process (or container) start to Health SERVING, CPU and RSS then, SIGTERM to exit; medians.",
        [
            ("runs", Kind.Value, "how many starts [default: 5]"),
            ("command", Kind.Value, "the command to start [default: the Release predictor]"),
            ("env", Kind.Repeated, "K=V for the command; {port} and {port2} are its ports (repeatable)"),
            ("echo", Kind.Flag, "start the echo server instead of the predictor"),
            ("image", Kind.Value, "start this container image instead (docker run, ports on 127.0.0.1)"),
            ("timeout", Kind.Value, "seconds to wait for SERVING [default: 30]"),
            ("grace", Kind.Value, "seconds between SIGTERM and SIGKILL [default: 10]"),
        ]);
        (string, Kind, string)[] deployerOptions =
        [
            ("v1-image", Kind.Value, "the image deployed first (required)"),
            ("v2-image", Kind.Value, "the good update, a predictor image whose model version differs (required)"),
            ("edge-image", Kind.Value, "the edge's image under BlueGreen [default: Dockerfile.edge built now, on local/debian:bookworm when present]"),
            ("interval", Kind.Value, "seconds between each client's calls [default: 0.02]"),
            ("deadline", Kind.Value, "seconds each client call may take [default: 0.5]"),
            ("crash-delay", Kind.Value, "seconds after the deployer logs the gate's (or bake's) start that a failing image's process is SIGKILLed [default: 1]"),
            ("python", Kind.Value, "the Python with grpcio [default: /usr/bin/python3]"),
            ("deployer-command", Kind.Value, "how to start the deployer [default: dotnet services/Deployer/bin/Release/net10.0/Deployer.dll]"),
            ("deployer-env", Kind.Repeated, "K=V for the deployer (repeatable)"),
        ];
        Add(root, run, "rollout", "Local registry + deployer: a good rollout, a gate-failure and a bake-time rollback, each measured by three clients and h2load on the public port; under BlueGreen also Predict through the edge vs direct.",
        [
            .. deployerOptions,
            ("strategy", Kind.Value, "Deployer:Strategy: BlueGreen or Recreate [default: BlueGreen]"),
            ("port", Kind.Value, "the public gRPC port on 127.0.0.1 [default: a free port]"),
            ("timeout", Kind.Value, "seconds each scenario may take to converge [default: 180]"),
            ("bake-time", Kind.Value, "Deployer:HealthGate:BakeTime in seconds [default: 20]"),
            ("scenarios", Kind.Value, "comma-separated: good, gate, bake [default: good,gate,bake]"),
            ("baseline", Kind.Value, "seconds of the clients and h2load before any rollout, the load's own cost (0: skip) [default: 30]"),
            ("h2load-rps", Kind.Value, "h2load's Predict rate during each scenario, req/s over 2 connections (0: unbounded) [default: 500]"),
            ("requests", Kind.Value, "BlueGreen: h2load calls per edge-vs-direct throughput round (0: skip) [default: 50000]"),
            ("rounds", Kind.Value, "BlueGreen: edge-vs-direct rounds [default: 3]"),
            ("latency-seconds", Kind.Value, "BlueGreen: seconds of one-in-flight calls for the p50, per round (0: skip) [default: 5]"),
        ]);
        Add(root, run, "fleet", "Waves across hosts (docs/fleet.md): a local registry, dynalite with one fleet table and N Recreate deployers; per new digest, seconds from the push to the canary's Baked verdict and to every host live.",
        [
            ("v1-image", Kind.Value, "the predictor image every host starts from"),
            ("v2-image", Kind.Value, "the predictor image whose variants each round pushes"),
            ("deployer-command", Kind.Value, "how to start the deployer [default: dotnet services/Deployer/bin/Release/net10.0/Deployer.dll]"),
            ("deployer-env", Kind.Repeated, "K=V for every deployer (repeatable)"),
            ("hosts", Kind.Value, "how many deployers [default: 3]"),
            ("rounds", Kind.Value, "new digests pushed after v1 [default: 2]"),
            ("bake-time", Kind.Value, "Deployer:HealthGate:BakeTime in seconds [default: 10]"),
            ("lease", Kind.Value, "Deployer:Fleet:LeaseDuration in seconds (renewal every quarter) [default: 10]"),
            ("timeout", Kind.Value, "seconds a round may take to reach every host [default: 600]"),
            ("dynalite", Kind.Value, "dynalite's cli.js [default: $STUDENTPERFORMANCE_CACHE/tools/npm/node_modules/dynalite/cli.js]"),
        ]);
        Add(root, run, "soak", "Many BlueGreen rollouts (good, never-serving, gate-failing in turn) with random deployer kills (and, if asked, refusals of the edge's runtime API and edge restarts), three clients through the edge throughout; exits 1 if a rollout does not converge or a container is left behind.",
        [
            .. deployerOptions,
            ("rollouts", Kind.Value, "how many rollouts [default: 30]"),
            ("kill-chance", Kind.Value, "chance, 0..1, that the deployer is SIGKILLed during a rollout [default: 0.3]"),
            ("kill-within", Kind.Value, "the kill comes at a random moment this many seconds after the push [default: 15]"),
            ("seed", Kind.Value, "seed of the kills and of the edge's faults (drawn apart) [default: 42]"),
            ("refuse-chance", Kind.Value, "chance, 0..1, that the edge's runtime API refuses connections (iptables REJECT, needs root) during a rollout [default: 0]"),
            ("refuse-seconds", Kind.Value, "how long each refusal lasts [default: 20]"),
            ("edge-restart-chance", Kind.Value, "chance, 0..1, that the edge container is restarted during a rollout [default: 0]"),
            ("fault-within", Kind.Value, "a refusal or an edge restart starts at a random moment this many seconds after the push [default: 30]"),
            ("converge-timeout", Kind.Value, "seconds a rollout may take to converge [default: 240]"),
            ("bake-time", Kind.Value, "Deployer:HealthGate:BakeTime in seconds [default: 5]"),
            ("preflight-timeout", Kind.Value, "Deployer:Preflight:Timeout in seconds (bounds a never-serving rollout) [default: 20]"),
            ("leftover-wait", Kind.Value, "seconds to wait at the end for stray containers to go [default: 60]"),
        ]);
        Add(root, run, "edge", "Blue/green behind haproxy on loopback (docs/edge.md): failed calls of three clients per switch method, then Predict throughput and p50 through the edge vs direct.",
        [
            ("switches", Kind.Value, "switches per method [default: 5]"),
            ("methods", Kind.Value, "comma-separated: recreate, runtime, reload [default: recreate,runtime,reload]"),
            ("interval", Kind.Value, "seconds between each client's calls [default: 0.02]"),
            ("deadline", Kind.Value, "seconds each call may take [default: 0.5]"),
            ("requests", Kind.Value, "h2load calls per throughput round (0: skip) [default: 50000]"),
            ("rounds", Kind.Value, "throughput rounds, edge and direct alternating [default: 3]"),
            ("latency-seconds", Kind.Value, "seconds of one-in-flight calls for p50 [default: 5]"),
            ("haproxy", Kind.Value, "the haproxy binary [default: haproxy]"),
            ("python", Kind.Value, "the Python with grpcio [default: /usr/bin/python3]"),
        ]);
        Add(root, run, "edge-tls", "Certificate rotation on a TLS edge (haproxy on loopback, docs/edge.md): failed calls of a long-lived and a new-connection-per-call grpc-dotnet client, long-lived reconnects, and seconds until new connections get the new certificate, per method.",
        [
            ("rotations", Kind.Value, "certificate replacements per method [default: 5]"),
            ("methods", Kind.Value, "comma-separated: runtime, reload [default: runtime,reload]"),
            ("interval", Kind.Value, "seconds between each client's calls [default: 0.02]"),
            ("haproxy", Kind.Value, "the haproxy binary [default: haproxy]"),
        ]);
        return root;
    }

    /// <summary>
    /// Parses and runs. A usage error prints one line per problem, each naming the option, and returns 2; --help
    /// prints the usage and returns 0.
    /// </summary>
    public static async Task<int> InvokeAsync(RootCommand root, IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(stderr);
        var result = root.Parse(args);
        if (result.Errors.Count > 0 && result.Action is not HelpAction)
        {
            foreach (var error in result.Errors)
            {
                await stderr.WriteLineAsync($"bench: {error.Message}").ConfigureAwait(false);
            }

            await stderr.WriteLineAsync("bench: run with --help for the modes, or <mode> --help for a mode's options").ConfigureAwait(false);
            return 2;
        }

        return await result.InvokeAsync(new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,

            // Exceptions keep their own exit codes and messages (not System.CommandLine's generic 1), and the
            // process keeps its own signal handling.
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        }, cancellationToken).ConfigureAwait(false);
    }

    private static void Add(RootCommand root, Func<string, ModeRunner> run, string name, string description, (string Name, Kind Kind, string Help)[] options)
    {
        var command = new Command(name, description);
        var declared = new List<(string Name, Option Option)>();
        foreach (var (option, kind, help) in options.DistinctBy(o => o.Name))
        {
            Option symbol = kind switch
            {
                Kind.Flag => new Option<bool>("--" + option) { Description = help },
                Kind.Repeated => new Option<string[]>("--" + option) { Description = help, HelpName = "K=V", AllowMultipleArgumentsPerToken = false },
                _ => new Option<string>("--" + option) { Description = help, HelpName = "value" },
            };
            command.Options.Add(symbol);
            declared.Add((option, symbol));
        }

        var runner = run(name);
        command.SetAction((parse, cancellationToken) =>
        {
            var items = new List<(string Name, string? Value)>();
            foreach (var (option, symbol) in declared)
            {
                if (parse.GetResult(symbol) is not { Implicit: false })
                {
                    continue;
                }

                switch (symbol)
                {
                    case Option<bool>:
                        items.Add((option, null));
                        break;
                    case Option<string[]> repeated:
                        items.AddRange((parse.GetValue(repeated) ?? []).Select(v => (option, (string?)v)));
                        break;
                    case Option<string> single:
                        items.Add((option, parse.GetValue(single)));
                        break;
                }
            }

            return runner(new Options(items), cancellationToken);
        });
        root.Subcommands.Add(command);
    }
}
