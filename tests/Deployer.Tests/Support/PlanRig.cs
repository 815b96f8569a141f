using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Fleet;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.Deployer.Registry;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Support;

/// <summary>
/// The rollout plan over the in-memory engine and registry, a probe that asks the engine what serves behind a
/// port, a state folder of its own and fake time that skips ahead whenever the plan waits.
/// </summary>
internal sealed class PlanRig : IDisposable
{
    public const string Repository = "127.0.0.1:5000/student-performance";
    public const string V1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    public const string V2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    public const string EdgeDigest = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";

    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("sp-plan-").FullName;
    private readonly Lazy<RolloutPlan> _plan;
    private readonly Lazy<StateStore> _state;
    private readonly Lazy<RolloutSteps> _steps;
    private readonly Lazy<BlueGreenStrategy> _blueGreen;
    private FaultInjector? _faults;

    public PlanRig()
    {
        Registry = new InMemoryImageRegistry(Repository);
        Engine = new InMemoryContainerRuntime(Registry);
        _state = new(() => new StateStore(Options.Create(new DeployerOptions { StateDirectory = _stateDirectory }), null, new FaultyStateFile(this)));
        Engine.Time = Time;
        _plan = new(() => new RolloutPlan(
            Engine,
            Probe,
            Options.Create(Container),
            Options.Create(Preflight),
            Options.Create(HealthGate),
            Steps,
            Time,
            Logs));
        Engine.AddLocalImage("edge", EdgeDigest, ImageBehaviour.Healthy);
        Edge = new InMemoryEdge(Engine, EdgeOptions, Layout, Time);
        _blueGreen = new(() =>
        {
            var slots = new BlueGreenSlots(Engine, Edge, Options.Create(Container), Options.Create(EdgeOptions), Metrics, Time, BlueGreenLogs);
            var edgeImage = new EdgeImage(Engine, Registry, Options.Create(EdgeOptions), NullLogger<EdgeImage>.Instance);
            var edgeTls = new EdgeTls(Options.Create(EdgeOptions), new PinnedCertificates(), NullLogger<EdgeTls>.Instance);
            var upkeep = new EdgeUpkeep(slots, Engine, Edge, edgeImage, edgeTls, Time, BlueGreenLogs);
            return new BlueGreenStrategy(
                new BlueGreenPlan(slots, edgeTls, Engine, Probe, Options.Create(Preflight), Steps, _state.Value, BlueGreenLogs),
                new BlueGreenReconciler(slots, Engine, Edge, upkeep, Probe, Options.Create(Preflight), Steps, _state.Value, Time, BlueGreenLogs),
                slots,
                Engine,
                Edge,
                upkeep,
                _state.Value,
                Metrics);
        });
        _steps = new(() => new RolloutSteps(
            Engine,
            Registry,
            new ImageSignatureVerifier(Registry, Options.Create(Signature), NullLogger<ImageSignatureVerifier>.Instance),
            Probe,
            Options.Create(Preflight),
            Options.Create(HealthGate),
            Options.Create(Disk),
            Options.Create(new DockerOptions()),
            _state.Value,
            new RolloutNotifier(new NoHttpClients(), Options.Create(new WebhookOptions()), Metrics, QualityHistory, Time, NullLogger<RolloutNotifier>.Instance),
            new QualityGateStep(
                new QualityGate(Options.Create(QualityGate), new GoldenSetCache(), Time, NullLogger<QualityGate>.Instance),
                QualityHistory,
                Engine,
                Options.Create(Container),
                Metrics),
            new ShadowGateStep(
                new ShadowGate(Options.Create(ShadowGate), Time, NullLogger<ShadowGate>.Instance),
                QualityHistory,
                Engine,
                Options.Create(Container),
                Metrics,
                Time),
            Metrics,
            Time,
            StepLogs));
    }

    public InMemoryImageRegistry Registry { get; }

    /// <summary>What <c>state.json</c> (and its last good copy) hold when the state store first reads them; null: no file.</summary>
    public string? StateFileText { get; set; }

    /// <summary>One fault for the engine, the edge and the state store to inject (null: none).</summary>
    public FaultInjector? Faults
    {
        get => _faults;
        set
        {
            _faults = value;
            Engine.Faults = value;
            Edge.Faults = value;
        }
    }


    /// <summary>Deployer:Signature for the plan (no key: not checked); set before the first rollout.</summary>
    public SignatureOptions Signature { get; } = new();

    public InMemoryContainerRuntime Engine { get; }

    public SkipAheadTimeProvider Time { get; } = new();

    public DeployerMetrics Metrics { get; } = new();

    /// <summary>Off: the in-memory engine's containers answer no predictions; the gate has tests of its own.</summary>
    public QualityGateOptions QualityGate { get; } = new() { Enabled = false };

    /// <summary>Off: the in-memory engine's ports reach nothing, and the shadow step is tested on real predictors.</summary>
    public ShadowGateOptions ShadowGate { get; } = new() { Enabled = false };

    public QualityGateHistory QualityHistory { get; } = new();

    public ListLogger<RolloutPlan> Logs { get; } = new();

    public ListLogger<RolloutSteps> StepLogs { get; } = new();

    public RolloutSteps Steps => _steps.Value;

    public IPredictorProbe Probe => new EngineProbe(Engine, Preflight, this);

    /// <summary>BlueGreen: the public port is 18000 (<see cref="Container"/>), the slots listen on 18100 and 28100.</summary>
    public EdgeOptions EdgeOptions { get; } = new()
    {
        Image = $"edge@{EdgeDigest}",
        Name = "predictor-edge",
        BluePorts = ["18100:8000", "18180:8080"],
        GreenPorts = ["28100:8000", "28180:8080"],
    };

    public InMemoryEdge Edge { get; }

    public BlueGreenStrategy BlueGreen => _blueGreen.Value;

    public ListLogger<BlueGreenStrategy> BlueGreenLogs { get; } = new();

    public EdgeLayout Layout(EdgeSlot live) => EdgeLayout.Create(ContainerSpecFactory.Bindings(Container), Container.GrpcPort, EdgeOptions, live);

    /// <summary>A slot container of <paramref name="digest"/>, as an earlier rollout left it.</summary>
    public void ExistingSlot(EdgeSlot slot, string digest, string status = "running", ImageBehaviour? behaviour = null)
    {
        Engine.AddLocalImage(Repository, digest, behaviour ?? ImageBehaviour.Healthy);
        Engine.AddContainer(SlotContainer.Spec(Container, EdgeOptions, slot, Repository, digest, "earlier"), status);
    }

    /// <summary>The edge runs and its file names <paramref name="live"/>, as after an earlier rollout.</summary>
    public async Task ExistingEdgeAsync(EdgeSlot live)
    {
        await Edge.WriteConfigAsync(Layout(live), CancellationToken.None);
        Engine.AddContainer(EdgeContainer.Spec(EdgeOptions), "running");
    }

    /// <summary>What a client calling the public port gets: the model digest that answers, or null.</summary>
    public async Task<string?> PublicDigestAsync()
    {
        if (Edge.Route() is not { } slot)
        {
            return null;
        }

        return (await InspectAsync(SlotContainer.Name(Container.Name, slot)))?.DeployedDigest;
    }

    public ContainerSpecOptions Container { get; } = new() { Name = "predictor", Ports = ["127.0.0.1:18000:8000"] };

    public PreflightOptions Preflight { get; } = new();

    public HealthGateOptions HealthGate { get; } = new();

    public DiskGuardOptions Disk { get; } = new();

    /// <summary>The deployer's loop over the blue/green plan, with <paramref name="mode"/>.</summary>
    public DeployerWorker Worker(DeployerMode mode, DeployerStatus status) => new(
        BlueGreen,
        Steps,
        new LiveWatch(
            Engine,
            new RolloutNotifier(new NoHttpClients(), Options.Create(new WebhookOptions()), Metrics, QualityHistory, Time, NullLogger<RolloutNotifier>.Instance),
            Options.Create(Disk),
            Options.Create(new CrashLoopOptions()),
            status,
            Metrics,
            Time,
            NullLogger<LiveWatch>.Instance),
        Registry,
        new SingleHostGate(),
        Options.Create(new DeployerOptions { Mode = mode, StateDirectory = _stateDirectory }),
        Options.Create(Container),
        Options.Create(new StudentPerformance.Deployer.Registry.ImageOptions()),
        State,
        status,
        Metrics,
        Time,
        NullLogger<DeployerWorker>.Instance);

    /// <summary>Built on first use, so a test can change the options first.</summary>
    public RolloutPlan Plan => _plan.Value;

    public StateStore State => _state.Value;

    public string Name => Container.Name;

    public string PreviousName => ContainerSpecFactory.PreviousName(Container.Name);

    /// <summary>A managed container of <paramref name="digest"/> under <paramref name="name"/>, as an earlier rollout left it.</summary>
    public void Existing(string name, string digest, string status, ImageBehaviour? behaviour = null)
    {
        Engine.AddLocalImage(Repository, digest, behaviour ?? ImageBehaviour.Healthy);
        var spec = name == ContainerSpecFactory.PreflightName(Container.Name)
            ? ContainerSpecFactory.Preflight(Container, Repository, digest, "earlier")
            : ContainerSpecFactory.Managed(Container, Repository, digest, "earlier") with { Name = name };
        Engine.AddContainer(spec, status);
    }

    /// <summary>The live container runs V1 and the tag now points at V2 with <paramref name="v2"/>.</summary>
    public void LiveV1AndPushedV2(ImageBehaviour v2)
    {
        Existing(Name, V1, "running");
        Registry.Push("latest", V2, v2);
    }

    public async Task<ContainerInfo?> InspectAsync(string name) => await Engine.InspectAsync(name, CancellationToken.None);

    public bool IsQuarantined(string digest) => State.Current.Quarantined.Any(q => q.Digest == digest);

    public void Dispose() => Directory.Delete(_stateDirectory, recursive: true);

    /// <summary>Answers as the predictor in the container behind the port would.</summary>
    /// <summary>Under BlueGreen the public port is the edge's: it answers as the slot the edge routes to.</summary>
    private sealed class EngineProbe(InMemoryContainerRuntime engine, PreflightOptions preflight, PlanRig rig) : IPredictorProbe
    {
        public Task<bool> IsServingAsync(Uri address, TimeSpan timeout, CancellationToken cancellationToken) =>
            Task.FromResult(Behind(address.Port)?.Serves == true);

        public Task<GoldenVerdict> CheckGoldenAsync(Uri address, TimeSpan timeout, CancellationToken cancellationToken) =>
            Task.FromResult(Behind(address.Port) is { Serves: true } behaviour
                ? GoldenCheck.Judge(behaviour.GoldenScore, preflight.MinScore, preflight.MaxScore)
                : new GoldenVerdict(false, null, "golden Predict failed: Unavailable"));

        private ImageBehaviour? Behind(int port) =>
            engine.ServingBehindPort(port) ?? (rig.Edge.Route() is { } slot && rig.Edge.ConfiguredLiveSlot() is not null && port == PublicPort ? engine.ServingBehindPort(rig.Edge.Port(slot)) : null);

        private int PublicPort => ContainerSpecFactory.Bindings(rig.Container)[0].HostPort;
    }

    /// <summary>
    /// The state file in memory (<see cref="DurableStateFile"/> has tests of its own; its fsyncs would make the
    /// exhaustive fault tests slow), with a fault when the rig's injector says so.
    /// </summary>
    private sealed class FaultyStateFile(PlanRig rig) : IStateFile
    {
        private string? _content = rig.StateFileText;

        public string Path => "/in-memory/state.json";

        public string? ReadCurrent() => _content;

        public string? ReadBackup() => _content;

        public void Write(string content)
        {
            var fault = rig.Faults?.Next("state store: write state.json");
            if (fault == FaultKind.Throws)
            {
                throw new IOException("No space left on device (injected)");
            }

            _content = content;
            if (fault == FaultKind.TimesOut)
            {
                throw new IOException("fsync failed: Input/output error (injected; the file was written)");
            }
        }
    }

    private sealed class NoHttpClients : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => throw new InvalidOperationException("no webhook is configured in these tests");
    }
}

/// <summary>Keeps every log entry, so a test can assert that an event was logged.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly Lock _gate = new();
    private readonly List<(EventId Id, string Message)> _entries = [];

    public IReadOnlyList<(EventId Id, string Message)> Entries
    {
        get
        {
            lock (_gate)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        lock (_gate)
        {
            _entries.Add((eventId, formatter(state, exception)));
        }
    }
}
