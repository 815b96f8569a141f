using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Edge;

/// <summary><see cref="IEdgeProxy"/> over HAProxy: the rendered file plus <c>set server … state</c> on the runtime API.</summary>
public sealed class HaproxyEdgeProxy : IEdgeProxy
{
    private readonly EdgeOptions _options;
    private readonly HaproxyRuntimeApi _api;
    private readonly TimeProvider _time;
    private readonly ILogger<HaproxyEdgeProxy> _logger;

    public HaproxyEdgeProxy(IOptions<EdgeOptions> options, TimeProvider time, ILogger<HaproxyEdgeProxy> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _api = new HaproxyRuntimeApi(_options.RuntimeApi, _options.RuntimeApiTimeout);
        _time = time;
        _logger = logger;
    }

    /// <summary>How often a switch or a drain looks at the edge's state.</summary>
    private TimeSpan PollInterval => TimeSpan.FromMilliseconds(Math.Clamp(_options.CheckInterval.TotalMilliseconds / 4, 10, 250));

    public async Task WriteConfigAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var path = await HaproxyConfig.WriteAsync(_options.ConfigDirectory, HaproxyConfig.Render(layout, _options), cancellationToken).ConfigureAwait(false);
        Log.ConfigWritten(_logger, path, layout.Live);
    }

    public async Task<bool> EnsureConfigAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        RuntimeApiSocket.PrepareDirectory(_options);
        var path = Path.Combine(_options.ConfigDirectory, HaproxyConfig.FileName);
        var wanted = HaproxyConfig.Render(layout, _options);
        if (File.Exists(path) && await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false) == wanted)
        {
            return false;
        }

        await HaproxyConfig.WriteAsync(_options.ConfigDirectory, wanted, cancellationToken).ConfigureAwait(false);
        Log.ConfigWritten(_logger, path, layout.Live);
        return true;
    }

    public EdgeSlot? ConfiguredLiveSlot() => HaproxyConfig.ReadLiveSlot(Path.Combine(_options.ConfigDirectory, HaproxyConfig.FileName));

    public async Task SwitchAsync(EdgeLayout layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var started = _time.GetTimestamp();
        var slot = layout.Live;
        var old = slot.Other();

        // The file first: if the edge restarts from here on, it comes back routing to the new slot.
        await WriteConfigAsync(layout, cancellationToken).ConfigureAwait(false);
        foreach (var route in layout.Routes)
        {
            await SetStateAsync(route.Backend, slot, "ready", cancellationToken).ConfigureAwait(false);
        }

        // Both slots serve until the new one is UP everywhere, so no call ever finds the backend without a server. A
        // server leaving maintenance shows "UP 1/2" (assumed up, not checked yet); plain "UP" means a check passed.
        var up = await Wait.UntilAsync(
            async ct => await GetStateAsync(ct).ConfigureAwait(false) is { } state
                && layout.Routes.All(r => state.Servers.Any(s => s.Backend == r.Backend && s.Slot == slot && s.Status == "UP")),
            PollInterval, _options.SwitchTimeout, _time, cancellationToken).ConfigureAwait(false);
        if (!up)
        {
            Log.SwitchFailed(_logger, slot, _options.SwitchTimeout, old);
            await WriteConfigAsync(layout.WithLive(old), cancellationToken).ConfigureAwait(false);
            foreach (var route in layout.Routes)
            {
                await SetStateAsync(route.Backend, slot, "maint", cancellationToken).ConfigureAwait(false);
            }

            throw new EdgeSwitchException($"slot {slot} was not UP in the edge's checks within {_options.SwitchTimeout}");
        }

        foreach (var route in layout.Routes)
        {
            // The old slot takes no new call but keeps running; its standby backs the new slot up until it is retired.
            await SetStateAsync(route.Backend, old, "drain", cancellationToken).ConfigureAwait(false);
            await SetStateAsync(route.Backend, old.StandbyName(), "ready", cancellationToken).ConfigureAwait(false);
            await SetStateAsync(route.Backend, slot.StandbyName(), "maint", cancellationToken).ConfigureAwait(false);
        }

        Log.Switched(_logger, slot, _time.GetElapsedTime(started), old);
    }

    public async Task<DrainResult> DrainAsync(EdgeSlot slot, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var backends = await BackendsAsync(cancellationToken).ConfigureAwait(false);
        foreach (var backend in backends)
        {
            await SetStateAsync(backend, slot, "drain", cancellationToken).ConfigureAwait(false);
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
                    await _api.ExecuteCheckedAsync($"shutdown sessions server {backend}/{server}", cancellationToken).ConfigureAwait(false);
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
            rows = await _api.ShowStatAsync(cancellationToken).ConfigureAwait(false);
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
        var state = await GetStateAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new EdgeRuntimeApiException($"the edge's runtime API at {_options.RuntimeApi} does not answer");
        return [.. state.Servers.Select(s => s.Backend).Distinct(StringComparer.Ordinal)];
    }

    private Task SetStateAsync(string backend, EdgeSlot slot, string state, CancellationToken cancellationToken) =>
        SetStateAsync(backend, slot.ServerName(), state, cancellationToken);

    private Task SetStateAsync(string backend, string server, string state, CancellationToken cancellationToken) =>
        _api.ExecuteCheckedAsync($"set server {backend}/{server} state {state}", cancellationToken);
}
