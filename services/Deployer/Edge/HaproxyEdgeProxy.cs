using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Edge;

/// <summary>
/// <see cref="IEdgeProxy"/> over HAProxy: the rendered file plus <c>set server … state</c> on the runtime API. Each
/// command is idempotent, so one the runtime API did not take (refused connection, no answer) is sent again until
/// <c>Deployer:Edge:RuntimeApiWait</c> has passed.
/// </summary>
public sealed class HaproxyEdgeProxy : IEdgeProxy
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);
    private readonly EdgeOptions _options;
    private readonly IEdgeRuntimeApi _api;
    private readonly IEdgeConfigFile _file;
    private readonly TimeProvider _time;
    private readonly ILogger<HaproxyEdgeProxy> _logger;

    public HaproxyEdgeProxy(IOptions<EdgeOptions> options, TimeProvider time, ILogger<HaproxyEdgeProxy> logger)
        : this(
            options,
            new HaproxyRuntimeApi(options?.Value.RuntimeApi!, options!.Value.RuntimeApiTimeout),
            new EdgeConfigFile(options.Value.ConfigDirectory),
            time,
            logger)
    {
    }

    /// <summary>Over another runtime API and file (the tests' in-memory HAProxy).</summary>
    public HaproxyEdgeProxy(IOptions<EdgeOptions> options, IEdgeRuntimeApi api, IEdgeConfigFile file, TimeProvider time, ILogger<HaproxyEdgeProxy> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _api = api;
        _file = file;
        _time = time;
        _logger = logger;
    }

    /// <summary>How often a switch or a drain looks at the edge's state.</summary>
    private TimeSpan PollInterval => TimeSpan.FromMilliseconds(Math.Clamp(_options.CheckInterval.TotalMilliseconds / 4, 10, 250));

    public async Task WriteConfigAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        await _file.WriteAsync(HaproxyConfig.Render(layout, _options), cancellationToken).ConfigureAwait(false);
        Log.ConfigWritten(_logger, _file.Path, layout.Live);
    }

    public async Task<bool> EnsureConfigAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        RuntimeApiSocket.PrepareDirectory(_options);
        var wanted = HaproxyConfig.Render(layout, _options);
        var current = _file.Read();
        // During a rollout the file enables the old slot's standby instead of the live one's: the same settings.
        if (current == wanted || current == HaproxyConfig.Render(layout.WithStandby(layout.Live.Other()), _options))
        {
            return false;
        }

        await _file.WriteAsync(wanted, cancellationToken).ConfigureAwait(false);
        Log.ConfigWritten(_logger, _file.Path, layout.Live);
        return true;
    }

    public EdgeSlot? ConfiguredLiveSlot() => HaproxyConfig.ParseLiveSlot(_file.Read());

    public async Task SwitchAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var started = _time.GetTimestamp();
        var slot = layout.Live;
        var old = slot.Other();

        // Runtime state first, the file once the new slot is UP everywhere: the file never names a slot the edge has
        // not seen UP, and a command that fails here leaves the old slot serving (both serve until the drain below).
        foreach (var route in layout.Routes)
        {
            await SetStateAsync(route.Backend, slot.ServerName(), "ready", cancellationToken).ConfigureAwait(false);
        }

        // A server leaving maintenance shows "UP 1/2" (assumed up, not checked yet); plain "UP" means a check passed.
        var answered = false;
        var interrupted = false;
        var up = await Wait.UntilAsync(
            async ct =>
            {
                var state = await GetStateAsync(ct).ConfigureAwait(false);
                answered = state is not null;
                interrupted |= state is null;
                if (state is null || state.IsUpEverywhere(slot, layout))
                {
                    return state is not null;
                }

                // An edge that restarted meanwhile (docker restart, a crash, the Docker daemon restarting) read the
                // file, which still names the old slot: the new one is back in maintenance. Enable it again.
                foreach (var lost in state.Servers.Where(s => s.Slot == slot && s.Admin == EdgeAdminState.Maintenance && layout.Routes.Any(r => r.Backend == s.Backend)))
                {
                    interrupted = true;
                    Log.SwitchReapplied(_logger, slot, lost.Backend);
                    await SetStateAsync(lost.Backend, slot.ServerName(), "ready", ct).ConfigureAwait(false);
                }

                return false;
            },
            PollInterval, _options.SwitchTimeout, _time, cancellationToken).ConfigureAwait(false);
        if (!up && (!answered || interrupted))
        {
            // Not the slot's fault: the edge stopped answering, or restarted and its checks started over. Both slots
            // may take calls; the file is untouched.
            throw new EdgeRuntimeApiException(
                $"the edge's runtime API at {_options.RuntimeApi} stopped answering (or the edge restarted) while slot {slot} was switched in", isTransient: true);
        }

        if (!up)
        {
            Log.SwitchFailed(_logger, slot, _options.SwitchTimeout, old);
            foreach (var route in layout.Routes)
            {
                await SetStateAsync(route.Backend, slot.ServerName(), "maint", cancellationToken).ConfigureAwait(false);
            }

            throw new EdgeSwitchException($"slot {slot} was not UP in the edge's checks within {_options.SwitchTimeout}");
        }

        // From here an edge that restarts comes back on the new slot, with the old one's standby as its backup.
        await WriteConfigAsync(layout.WithStandby(old), cancellationToken).ConfigureAwait(false);
        foreach (var route in layout.Routes)
        {
            // The old slot takes no new call but keeps running; its standby backs the new slot up until it is retired.
            await SetStateAsync(route.Backend, old.StandbyName(), "ready", cancellationToken).ConfigureAwait(false);
            await SetStateAsync(route.Backend, old.ServerName(), "drain", cancellationToken).ConfigureAwait(false);
            await SetStateAsync(route.Backend, slot.StandbyName(), "maint", cancellationToken).ConfigureAwait(false);
        }

        Log.Switched(_logger, slot, _time.GetElapsedTime(started), old);
    }

    public async Task<DrainResult> RetireAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var live = layout.Live;
        var drained = await DrainAsync(live.Other(), cancellationToken).ConfigureAwait(false);
        await WriteConfigAsync(layout.WithLive(live), cancellationToken).ConfigureAwait(false);
        foreach (var route in layout.Routes)
        {
            await SetStateAsync(route.Backend, live.StandbyName(), "ready", cancellationToken).ConfigureAwait(false);
        }

        Log.Retired(_logger, live.Other(), live);
        return drained;
    }

    public async Task<DrainResult> DrainAsync(EdgeSlot slot, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var backends = await BackendsAsync(cancellationToken).ConfigureAwait(false);
        foreach (var backend in backends)
        {
            await SetStateAsync(backend, slot.ServerName(), "drain", cancellationToken).ConfigureAwait(false);
            await SetStateAsync(backend, slot.StandbyName(), "drain", cancellationToken).ConfigureAwait(false);
        }

        var clean = await Wait.UntilAsync(
            async ct => await GetStateAsync(ct).ConfigureAwait(false) is { } state && state.Sessions(slot) == 0,
            PollInterval, _options.DrainTimeout, _time, cancellationToken).ConfigureAwait(false);
        var left = clean ? 0 : (await GetStateAsync(cancellationToken).ConfigureAwait(false))?.Sessions(slot) ?? 0;
        foreach (var backend in backends)
        {
            foreach (var server in new[] { slot.ServerName(), slot.StandbyName() })
            {
                await SetStateAsync(backend, server, "maint", cancellationToken).ConfigureAwait(false);
                if (!clean)
                {
                    await ExecuteCheckedAsync($"shutdown sessions server {backend}/{server}", cancellationToken).ConfigureAwait(false);
                }
            }
        }

        var elapsed = _time.GetElapsedTime(started);
        if (clean)
        {
            Log.Drained(_logger, slot, elapsed);
        }
        else
        {
            Log.DrainTimedOut(_logger, slot, elapsed, left);
        }

        return new DrainResult(clean, left, elapsed);
    }

    public async Task<EdgeState?> GetStateAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<IReadOnlyDictionary<string, string>> rows;
        try
        {
            rows = HaproxyRuntimeApi.ParseStat(await _api.ExecuteAsync("show stat", cancellationToken).ConfigureAwait(false));
        }
        catch (EdgeRuntimeApiException)
        {
            return null;
        }

        var servers = new List<EdgeServerState>();
        var standbys = new List<EdgeServerState>();
        foreach (var row in rows)
        {
            if (!row.TryGetValue("svname", out var name))
            {
                continue;
            }

            var standby = name.EndsWith(EdgeSlots.StandbySuffix, StringComparison.Ordinal);
            var slotName = standby ? name[..^EdgeSlots.StandbySuffix.Length] : name;
            if (!EdgeSlots.TryParse(slotName, out var slot) || slot.ServerName() != slotName)
            {
                continue;
            }

            // status: "UP", "DOWN", "UP 1/2" (going down), "DOWN 1/2" (going up), "MAINT", "DRAIN", "MAINT (resolution)"…
            var status = row.GetValueOrDefault("status", "");
            var admin = status.StartsWith("MAINT", StringComparison.Ordinal) ? EdgeAdminState.Maintenance
                : status.StartsWith("DRAIN", StringComparison.Ordinal) ? EdgeAdminState.Drain
                : EdgeAdminState.Ready;
            var up = status.StartsWith("UP", StringComparison.Ordinal) || status == "DRAIN" || status == "no check";
            (standby ? standbys : servers).Add(new EdgeServerState(
                row.GetValueOrDefault("pxname", ""),
                slot,
                row.GetValueOrDefault("addr", ""),
                admin,
                up,
                status,
                HaproxyRuntimeApi.Int(row, "scur")));
        }

        return new EdgeState(servers, standbys);
    }

    private async Task<IReadOnlyList<string>> BackendsAsync(CancellationToken cancellationToken)
    {
        EdgeState? state = null;
        var answered = await Wait.UntilAsync(
            async ct => (state = await GetStateAsync(ct).ConfigureAwait(false)) is not null,
            FirstRetryDelay, _options.RuntimeApiWait, _time, cancellationToken).ConfigureAwait(false);
        if (!answered)
        {
            throw new EdgeRuntimeApiException($"the edge's runtime API at {_options.RuntimeApi} did not answer within Deployer:Edge:RuntimeApiWait ({_options.RuntimeApiWait})", isTransient: true);
        }

        return [.. state!.Servers.Select(s => s.Backend).Distinct(StringComparer.Ordinal)];
    }

    private Task SetStateAsync(string backend, string server, string state, CancellationToken cancellationToken) =>
        ExecuteCheckedAsync($"set server {backend}/{server} state {state}", cancellationToken);

    /// <summary>
    /// Runs a command that answers nothing on success (<c>set server …</c>, <c>shutdown sessions …</c>): any reply text
    /// is HAProxy's error message. Sent again while the runtime API does not take it, within <c>RuntimeApiWait</c>.
    /// </summary>
    private async Task ExecuteCheckedAsync(string command, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var delay = FirstRetryDelay;
        string reply;
        while (true)
        {
            try
            {
                reply = (await _api.ExecuteAsync(command, cancellationToken).ConfigureAwait(false)).Trim();
                break;
            }
            catch (EdgeRuntimeApiException ex) when (ex.IsTransient && _time.GetElapsedTime(started) + delay < _options.RuntimeApiWait)
            {
                Log.RuntimeApiRetry(_logger, command, ex.Message, delay);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }

        if (reply.Length > 0)
        {
            throw new EdgeRuntimeApiException($"runtime API refused '{command}': {reply}");
        }
    }
}
