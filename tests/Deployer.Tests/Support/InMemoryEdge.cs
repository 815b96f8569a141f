using StudentPerformance.Deployer.Edge;

namespace Deployer.Tests.Support;

/// <summary>
/// The edge in memory, faithful where the blue/green plan looks: a "file" naming the live slot, runtime server states
/// that a (re)started edge container resets from the file, servers UP only while a container serves behind the slot's
/// port, and the runtime API answering only while the edge container runs. Routes calls to the public port the way
/// HAProxy does: the ready live server if it is up, else a ready standby.
/// </summary>
public sealed class InMemoryEdge(InMemoryContainerRuntime engine, EdgeOptions options, Func<EdgeSlot, EdgeLayout> layout) : IEdgeProxy
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(EdgeSlot Slot, bool Standby), EdgeAdminState> _admin = [];
    private string? _edgeContainerId;

    /// <summary>The live slot the file names; null before the first write.</summary>
    public EdgeSlot? FileLive { get; set; }

    /// <summary>Every slot the edge was switched to, in order.</summary>
    public List<EdgeSlot> Switches { get; } = [];

    public int ConfigWrites { get; private set; }

    public Task WriteConfigAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        lock (_gate)
        {
            FileLive = layout.Live;
            ConfigWrites++;
        }

        return Task.CompletedTask;
    }

    public Task<bool> EnsureConfigAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        lock (_gate)
        {
            if (FileLive == layout.Live)
            {
                return Task.FromResult(false);
            }
        }

        return WriteConfigAsync(layout, cancellationToken).ContinueWith(_ => true, TaskScheduler.Default);
    }

    public EdgeSlot? ConfiguredLiveSlot()
    {
        lock (_gate)
        {
            return FileLive;
        }
    }

    public Task SwitchAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        lock (_gate)
        {
            RequireRunning();
            var slot = layout.Live;
            FileLive = slot;
            _admin[(slot, false)] = EdgeAdminState.Ready;
            if (!Up(slot))
            {
                FileLive = slot.Other();
                _admin[(slot, false)] = EdgeAdminState.Maintenance;
                throw new EdgeSwitchException($"slot {slot} was not UP in the edge's checks");
            }

            _admin[(slot.Other(), false)] = EdgeAdminState.Drain;
            _admin[(slot.Other(), true)] = EdgeAdminState.Ready;
            _admin[(slot, true)] = EdgeAdminState.Maintenance;
            Switches.Add(slot);
        }

        return Task.CompletedTask;
    }

    public Task<DrainResult> DrainAsync(EdgeSlot slot, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            RequireRunning();
            _admin[(slot, false)] = EdgeAdminState.Maintenance;
            _admin[(slot, true)] = EdgeAdminState.Maintenance;
        }

        return Task.FromResult(new DrainResult(true, 0, TimeSpan.Zero));
    }

    public async Task<EdgeState?> GetStateAsync(CancellationToken cancellationToken)
    {
        if (await engine.InspectAsync(options.Name, cancellationToken) is not { State.Running: true } edge)
        {
            return null;
        }

        lock (_gate)
        {
            ResetIfRestarted(edge.Id);
            EdgeServerState Server(EdgeSlot slot, bool standby)
            {
                var admin = Admin(slot, standby);
                var up = Up(slot);
                return new EdgeServerState("be_8000", slot, $"127.0.0.1:{Port(slot)}", admin, up, admin == EdgeAdminState.Maintenance ? "MAINT" : up ? "UP" : "DOWN", 0);
            }

            return new EdgeState(
                [Server(EdgeSlot.Blue, false), Server(EdgeSlot.Green, false)],
                [Server(EdgeSlot.Blue, true), Server(EdgeSlot.Green, true)]);
        }
    }

    /// <summary>The slot a call to the public port reaches now, or null when none would answer.</summary>
    public EdgeSlot? Route()
    {
        if (engine.InspectAsync(options.Name, CancellationToken.None).GetAwaiter().GetResult() is not { State.Running: true } edge)
        {
            return null;
        }

        lock (_gate)
        {
            ResetIfRestarted(edge.Id);

            foreach (var standby in new[] { false, true })
            {
                foreach (var slot in Enum.GetValues<EdgeSlot>())
                {
                    if (Admin(slot, standby) == EdgeAdminState.Ready && Up(slot))
                    {
                        return slot;
                    }
                }
            }

            return null;
        }
    }

    public EdgeAdminState Admin(EdgeSlot slot, bool standby = false)
    {
        lock (_gate)
        {
            return _admin.TryGetValue((slot, standby), out var admin) ? admin : EdgeAdminState.Maintenance;
        }
    }

    public int Port(EdgeSlot slot) => layout(slot).Routes[0].SlotPort(slot);

    private bool Up(EdgeSlot slot) => engine.ServingBehindPort(Port(slot))?.Serves == true;

    private void RequireRunning()
    {
        var edge = engine.InspectAsync(options.Name, CancellationToken.None).GetAwaiter().GetResult();
        if (edge is not { State.Running: true })
        {
            throw new EdgeRuntimeApiException($"runtime API at {options.RuntimeApi} unreachable");
        }

        ResetIfRestarted(edge.Id);
    }

    /// <summary>A new edge process reads the file: the live slot ready, everything else in maintenance.</summary>
    private void ResetIfRestarted(string containerId)
    {
        if (containerId == _edgeContainerId)
        {
            return;
        }

        _edgeContainerId = containerId;
        _admin.Clear();
        if (FileLive is { } live)
        {
            _admin[(live, false)] = EdgeAdminState.Ready;
        }
    }
}
