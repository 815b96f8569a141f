using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Edge;

namespace Deployer.Tests.Support;

/// <summary>
/// The real <see cref="HaproxyEdgeProxy"/> over an HAProxy in memory: a "file" (the rendered configuration), runtime
/// server states that a (re)started edge container reads from that file (<c>disabled</c> means maintenance), servers
/// UP only while a container serves behind the slot's port, and a runtime API that answers <c>show stat</c>,
/// <c>set server … state</c> and <c>shutdown sessions</c> only while the edge container runs. Routes calls the way
/// HAProxy does: to ready live servers that are up, else to ready backups that are up. Any runtime command and any
/// file write can be made to fail through a <see cref="FaultInjector"/>.
/// </summary>
public sealed class InMemoryEdge : IEdgeProxy
{
    private readonly Lock _gate = new();
    private readonly InMemoryContainerRuntime _engine;
    private readonly EdgeOptions _options;
    private readonly Func<EdgeSlot, EdgeLayout> _layout;
    private readonly TimeProvider _time;
    private readonly Dictionary<(string Backend, string Server), EdgeAdminState> _admin = [];
    private readonly HaproxyEdgeProxy _proxy;
    private string? _file;
    private string? _edgeContainerId;

    public InMemoryEdge(InMemoryContainerRuntime engine, EdgeOptions options, Func<EdgeSlot, EdgeLayout> layout, TimeProvider time)
    {
        _engine = engine;
        _options = options;
        _layout = layout;
        _time = time;
        _proxy = new HaproxyEdgeProxy(Options.Create(options), new RuntimeApi(this), new ConfigFile(this), time, NullLogger<HaproxyEdgeProxy>.Instance);
    }

    /// <summary>Set to inject faults into runtime commands and file writes.</summary>
    public FaultInjector? Faults { get; set; }

    /// <summary>Runs before each runtime API command (its text), for a test that acts at an exact point of a switch.</summary>
    public Action<string>? BeforeCommand { get; set; }

    /// <summary>The live slot the file names; null before the first write.</summary>
    public EdgeSlot? FileLive
    {
        get
        {
            lock (_gate)
            {
                return HaproxyConfig.ParseLiveSlot(_file);
            }
        }
    }

    /// <summary>Every slot the edge was switched to (a switch that completed), in order.</summary>
    public List<EdgeSlot> Switches { get; } = [];

    public int ConfigWrites { get; private set; }

    public Task WriteConfigAsync(EdgeLayout layout, CancellationToken cancellationToken) => _proxy.WriteConfigAsync(layout, cancellationToken);

    public Task<bool> EnsureConfigAsync(EdgeLayout layout, CancellationToken cancellationToken) => _proxy.EnsureConfigAsync(layout, cancellationToken);

    public EdgeSlot? ConfiguredLiveSlot() => _proxy.ConfiguredLiveSlot();

    public async Task SwitchAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        await _proxy.SwitchAsync(layout, cancellationToken);
        Switches.Add(layout.Live);
    }

    public Task<DrainResult> RetireAsync(EdgeLayout layout, CancellationToken cancellationToken) => _proxy.RetireAsync(layout, cancellationToken);

    public Task<DrainResult> DrainAsync(EdgeSlot slot, CancellationToken cancellationToken) => _proxy.DrainAsync(slot, cancellationToken);

    public Task<EdgeState?> GetStateAsync(CancellationToken cancellationToken) => _proxy.GetStateAsync(cancellationToken);

    /// <summary>The slot a call to the first (gRPC) route reaches now, or null when none would answer.</summary>
    public EdgeSlot? Route() => Routes(Backends[0]) is [var slot, ..] ? slot : null;

    /// <summary>Every slot a new call to <paramref name="backend"/> may reach now (empty: the call fails).</summary>
    public IReadOnlyList<EdgeSlot> Routes(string backend)
    {
        if (!EdgeRuns(out var id))
        {
            return [];
        }

        lock (_gate)
        {
            ResetIfRestarted(id);
            foreach (var backup in new[] { false, true })
            {
                var slots = Enum.GetValues<EdgeSlot>()
                    .Where(slot => Admin(backend, backup ? slot.StandbyName() : slot.ServerName()) == EdgeAdminState.Ready && Up(backend, slot))
                    .ToList();
                if (slots.Count > 0)
                {
                    return slots;
                }
            }

            return [];
        }
    }

    /// <summary>The HAProxy process restarts (<c>docker restart</c>, a crash): its runtime state is read from the file again.</summary>
    public void RestartProcess()
    {
        lock (_gate)
        {
            _edgeContainerId = null;
        }
    }

    /// <summary>Every backend of the layout (<c>be_&lt;container port&gt;</c>).</summary>
    public IReadOnlyList<string> Backends => [.. _layout(EdgeSlot.Blue).Routes.Select(r => r.Backend)];

    /// <summary>The admin state of a slot's server (or standby) in the first backend.</summary>
    public EdgeAdminState Admin(EdgeSlot slot, bool standby = false)
    {
        if (EdgeRuns(out var id))
        {
            lock (_gate)
            {
                ResetIfRestarted(id);
            }
        }

        return Admin(Backends[0], standby ? slot.StandbyName() : slot.ServerName());
    }

    public int Port(EdgeSlot slot) => _layout(slot).Routes[0].SlotPort(slot);

    private EdgeAdminState Admin(string backend, string server)
    {
        lock (_gate)
        {
            return _admin.TryGetValue((backend, server), out var admin) ? admin : EdgeAdminState.Maintenance;
        }
    }

    private bool Up(string backend, EdgeSlot slot)
    {
        var route = _layout(slot).Routes.First(r => r.Backend == backend);
        return _engine.ServingBehindPort(route.SlotPort(slot))?.Serves == true;
    }

    private bool EdgeRuns(out string id)
    {
        var edge = _engine.Peek(_options.Name);
        id = edge?.Id ?? "";
        return edge is { State.Running: true };
    }

    /// <summary>A new edge process reads the file: every server it does not mark <c>disabled</c> is ready.</summary>
    private void ResetIfRestarted(string containerId)
    {
        if (containerId == _edgeContainerId)
        {
            return;
        }

        _edgeContainerId = containerId;
        _admin.Clear();
        string? backend = null;
        foreach (var line in (_file ?? "").Split('\n').Select(l => l.Trim()))
        {
            if (line.StartsWith("backend ", StringComparison.Ordinal))
            {
                backend = line["backend ".Length..];
            }
            else if (backend is not null && line.StartsWith("server ", StringComparison.Ordinal))
            {
                var name = line.Split(' ')[1];
                _admin[(backend, name)] = line.EndsWith(" disabled", StringComparison.Ordinal) ? EdgeAdminState.Maintenance : EdgeAdminState.Ready;
            }
        }
    }

    private async Task<string> ExecuteAsync(string command, CancellationToken cancellationToken)
    {
        BeforeCommand?.Invoke(command);
        var fault = Faults?.Next($"edge runtime API: {command}");
        if (fault == FaultKind.Throws)
        {
            Faults!.StartOutage(_time.GetUtcNow());
        }

        if (Faults?.InOutage(_time.GetUtcNow()) == true || !EdgeRuns(out var id))
        {
            throw new EdgeRuntimeApiException($"runtime API at {_options.RuntimeApi} unreachable: ConnectionRefused", isTransient: true);
        }

        string reply;
        lock (_gate)
        {
            ResetIfRestarted(id);
            reply = Apply(command);
        }

        if (fault == FaultKind.TimesOut)
        {
            await Task.Delay(_options.RuntimeApiTimeout, _time, cancellationToken);
            throw new EdgeRuntimeApiException($"runtime API at {_options.RuntimeApi} did not answer '{command}' within {_options.RuntimeApiTimeout}", isTransient: true);
        }

        return reply;
    }

    private string Apply(string command)
    {
        if (command == "show stat")
        {
            var csv = new StringBuilder("# pxname,svname,status,scur,addr\n");
            foreach (var backend in Backends)
            {
                foreach (var slot in Enum.GetValues<EdgeSlot>())
                {
                    foreach (var server in new[] { slot.ServerName(), slot.StandbyName() })
                    {
                        var admin = Admin(backend, server);
                        var up = Up(backend, slot);
                        var status = admin switch
                        {
                            EdgeAdminState.Maintenance => "MAINT",
                            EdgeAdminState.Drain => up ? "DRAIN" : "DOWN",
                            _ => up ? "UP" : "DOWN",
                        };
                        csv.Append(backend).Append(',').Append(server).Append(',').Append(status).Append(",0,127.0.0.1\n");
                    }
                }
            }

            return csv.ToString();
        }

        var words = command.Split(' ');
        if (words is ["set", "server", var target, "state", var state] && target.Split('/') is [var b, var s] && _admin.ContainsKey((b, s)))
        {
            _admin[(b, s)] = state switch
            {
                "ready" => EdgeAdminState.Ready,
                "drain" => EdgeAdminState.Drain,
                _ => EdgeAdminState.Maintenance,
            };
            return "";
        }

        if (words is ["shutdown", "sessions", "server", var cut] && cut.Split('/') is [var sb, var ss] && _admin.ContainsKey((sb, ss)))
        {
            return "";
        }

        return "No such server.\n";
    }

    private async Task WriteFileAsync(string content, CancellationToken cancellationToken)
    {
        var fault = Faults?.Next("edge file: write haproxy.cfg");
        if (fault == FaultKind.Throws)
        {
            throw new IOException("No space left on device (injected)");
        }

        lock (_gate)
        {
            _file = content;
            ConfigWrites++;
        }

        if (fault == FaultKind.TimesOut)
        {
            await Task.Yield();
            throw new IOException("fsync failed: Input/output error (injected; the file was written)");
        }
    }

    private sealed class RuntimeApi(InMemoryEdge edge) : IEdgeRuntimeApi
    {
        public Task<string> ExecuteAsync(string command, CancellationToken cancellationToken) => edge.ExecuteAsync(command, cancellationToken);

        // Payload commands (`set ssl cert`) are not simulated: the in-memory edge speaks no TLS; EdgeTlsTests use HAProxy.
        public Task<string> ExecuteAsync(string command, string payload, CancellationToken cancellationToken) => edge.ExecuteAsync(command, cancellationToken);
    }

    private sealed class ConfigFile(InMemoryEdge edge) : IEdgeConfigFile
    {
        public string Path => "/in-memory/haproxy.cfg";

        public string? Read()
        {
            lock (edge._gate)
            {
                return edge._file;
            }
        }

        public Task WriteAsync(string content, CancellationToken cancellationToken) => edge.WriteFileAsync(content, cancellationToken);
    }
}
