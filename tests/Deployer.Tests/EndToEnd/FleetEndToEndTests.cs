using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Deployer.Tests.Support;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// Three deployer processes (own container names, ports, admin ports, state folders and host ids) share the local
/// registry and one fleet table on dynalite, against the real engine and predictor images. One scenario walks the
/// fleet through the issue's four cases in order, because each starts from the state the one before left (and three
/// deployers with their predictors are the heaviest thing these tests run): a good image, an image that dies during
/// the bake, a fresh fourth host while <c>:latest</c> is refused, and a canary SIGKILLed during its bake.
/// Waits are generous bounds on real state; nothing asserts a duration.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed class FleetEndToEndTests(PredictorImages images, DynaliteFixture dynalite) : IClassFixture<DynaliteFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);
    private readonly List<FleetMember> _members = [];
    private RolloutRig _rig = null!;
    private string _table = "";

    public async Task InitializeAsync()
    {
        _rig = await RolloutRig.StartAsync();
        _table = await dynalite.Server.CreateTableAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var member in _members)
        {
            member.Dispose();
            foreach (var name in new[] { member.ContainerName, member.ContainerName + "-previous", member.ContainerName + "-preflight" })
            {
                await Cli.TryRunAsync(["rm", "-f", name]);
            }
        }

        await _rig.DisposeAsync();
    }

    [Fact]
    public async Task Fleet_CanaryFirst_RefusalEverywhere_FreshHostFromBaked_KilledCanaryTakenOver()
    {
        // 1. A good image: exactly one host claims and bakes it; the other two roll it out only after its verdict.
        var v1 = await _rig.PushAsync(PredictorImages.V1);
        FleetMember[] hosts = [Start("h1"), Start("h2"), Start("h3")];
        await WaitAsync(async () => (await Task.WhenAll(hosts.Select(h => h.RunningDigestAsync()))).All(d => d == v1), "all three to run v1", hosts);

        var record = await RecordAsync(hosts[0], v1);
        Assert.Equal("Baked", record.GetProperty("verdict").GetString());
        var canary = record.GetProperty("verdictBy").GetString()!;
        Assert.Equal(1, hosts.Count(h => h.Logs.Contains("claimed") && h.Logs.Contains($"Fleet: {h.HostId} claimed")));
        Assert.Equal(1.0, (await Task.WhenAll(hosts.Select(h => h.CounterAsync("deployer_fleet_events_total", "claimed")))).Sum());
        var verdictAt = record.GetProperty("verdictAt").GetDateTimeOffset();
        var entries = record.GetProperty("hosts").EnumerateArray().ToList();
        Assert.Equal(3, entries.Count);
        Assert.Equal((canary, "canary"), (entries[0].GetProperty("hostId").GetString(), entries[0].GetProperty("role").GetString()));
        // The followers' rollouts started after the verdict (each host's own record of when it started).
        foreach (var follower in hosts.Where(h => h.HostId != canary))
        {
            var last = (await follower.StatusAsync()).GetProperty("lastRollout");
            Assert.Equal(v1, last.GetProperty("digest").GetString());
            Assert.True(last.GetProperty("startedAt").GetDateTimeOffset() >= verdictAt, $"{follower.HostId} started v1 before the verdict at {verdictAt}");
        }

        // 2. An image that dies during the bake: the canary refuses it, the others never start it, all quarantine it.
        var bad = await _rig.PushAsync(PredictorImages.ExitsLater);
        await WaitAsync(async () => (await Task.WhenAll(hosts.Select(h => h.QuarantinedAsync()))).All(q => q.Contains(bad)), "all three to quarantine the dying image", hosts);
        var refused = await RecordAsync(hosts[0], bad);
        Assert.Equal("Refused", refused.GetProperty("verdict").GetString());
        // It dies 20 s after its start: in the bake, or in the gate when this machine is slow to make it SERVING.
        Assert.Matches("^(bake failed|health gate failed)", refused.GetProperty("reason").GetString());
        var badCanary = refused.GetProperty("verdictBy").GetString()!;
        foreach (var host in hosts.Where(h => h.HostId != badCanary))
        {
            Assert.False(host.Logs.Contains($"@{bad} started"), $"{host.HostId} started the refused image:\n{host.Logs.Text}");
            Assert.Equal(v1, await host.RunningDigestAsync());
        }

        // 3. A fresh host while :latest is refused: it starts from the last baked digest.
        var fresh = Start("h4");
        await WaitAsync(async () => await fresh.RunningDigestAsync() == v1, "the fresh host to run the last baked digest", [fresh]);
        Assert.Contains(bad, await fresh.QuarantinedAsync());
        Assert.False(fresh.Logs.Contains($"@{bad} started"), fresh.Logs.Text);
        await fresh.StopAsync();

        // 4. The canary SIGKILLed during its bake: its lease runs out, another host claims the digest, all converge.
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        FleetMember? holder = null;
        await WaitAsync(async () =>
        {
            var held = (await RecordOrNullAsync(hosts[0], v2))?.GetProperty("holder").GetString();
            holder = hosts.SingleOrDefault(h => h.HostId == held);
            return holder is not null && holder.Logs.Contains("step bake started");
        }, "a canary to bake v2", hosts);
        holder!.Kill();
        var survivors = hosts.Where(h => h != holder).ToArray();
        await WaitAsync(async () => (await RecordOrNullAsync(survivors[0], v2))?.GetProperty("verdict").GetString() == "Baked", "another host to claim and bake v2", survivors);
        var takenOver = await RecordAsync(survivors[0], v2);
        Assert.NotEqual(holder.HostId, takenOver.GetProperty("verdictBy").GetString());
        Assert.True(survivors.Any(h => h.Logs.Contains($"previous holder {holder.HostId})")), string.Join("\n---\n", survivors.Select(h => h.Logs.Text)));

        var restarted = Start(holder.HostId, holder);
        FleetMember[] all = [.. survivors, restarted];
        await WaitAsync(async () => (await Task.WhenAll(all.Select(h => h.RunningDigestAsync()))).All(d => d == v2), "all three to converge on v2", all);
        Assert.Equal(images.V2ModelVersion, await Probes.ModelVersionAsync(restarted.PredictorAddress));
    }

    private FleetMember Start(string hostId, FleetMember? previous = null)
    {
        var member = previous?.Restart() ?? new FleetMember(hostId, _rig.ContainerName + "-" + hostId, LocalRegistry.FreePort(), LocalRegistry.FreePort(),
            Path.Combine(_rig.StateDirectory, hostId));
        member.Process = _rig.StartDeployerProcess(member.Logs, new Dictionary<string, string?>
        {
            ["Deployer:Container:Name"] = member.ContainerName,
            ["Deployer:Container:Ports:0"] = $"127.0.0.1:{member.Port}:8000",
            ["Deployer:StateDirectory"] = member.StateDirectory,
            ["Deployer:Admin:Url"] = $"http://127.0.0.1:{member.AdminPort}",
            ["Deployer:PollInterval"] = "00:00:01",
            ["Deployer:PollJitter"] = "00:00:00.500",
            // Longer than the dying image lives (PredictorImages.ExitsAfterSeconds), and time to kill a canary in it.
            ["Deployer:HealthGate:BakeTime"] = "00:00:25",
            ["Deployer:Fleet:Enabled"] = "true",
            ["Deployer:Fleet:Table"] = _table,
            ["Deployer:Fleet:Region"] = "eu-west-1",
            ["Deployer:Fleet:ServiceUrl"] = dynalite.Server.ServiceUrl,
            ["Deployer:Fleet:HostId"] = hostId,
            ["Deployer:Fleet:LeaseDuration"] = "00:00:15",
            ["Deployer:Fleet:RenewInterval"] = "00:00:05",
            ["Deployer:Fleet:CallTimeout"] = "00:00:04",
            // dynalite checks that requests are signed, not by whom; nothing here can reach AWS.
            ["AWS_ACCESS_KEY_ID"] = "fleet-e2e",
            ["AWS_SECRET_ACCESS_KEY"] = "fleet-e2e-secret",
            ["AWS_EC2_METADATA_DISABLED"] = "true",
        });
        if (previous is null)
        {
            _members.Add(member);
        }

        return member;
    }

    private static async Task<JsonElement> RecordAsync(FleetMember host, string digest) =>
        await RecordOrNullAsync(host, digest) ?? throw new InvalidOperationException($"{host.HostId}: no fleet record for {digest}\n{host.Logs.Text}");

    /// <summary>The fleet record /status shows; it is the registry digest's, so only once the host saw <paramref name="digest"/>.</summary>
    private static async Task<JsonElement?> RecordOrNullAsync(FleetMember host, string digest)
    {
        var status = await host.StatusAsync();
        var record = status.GetProperty("fleet").GetProperty("record");
        return record.ValueKind == JsonValueKind.Object && record.GetProperty("digest").GetString() == digest ? record : null;
    }

    private static Task WaitAsync(Func<Task<bool>> condition, string what, IReadOnlyList<FleetMember> hosts) =>
        Probes.WaitUntilAsync(async () =>
        {
            try
            {
                return await condition();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false; // a deployer still starting its admin endpoint, or too slow to answer on a loaded machine
            }
        }, Long, what, () => string.Join("\n--- ", hosts.Select(h => $"{h.HostId}:\n{h.Logs.Text}")));

    /// <summary>One deployer process of the fleet and what identifies it.</summary>
    private sealed class FleetMember(string hostId, string containerName, int port, int adminPort, string stateDirectory) : IDisposable
    {
        private readonly HttpClient _http = new() { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(30) };

        public string HostId { get; } = hostId;

        public string ContainerName { get; } = containerName;

        public int Port { get; } = port;

        public int AdminPort { get; } = adminPort;

        public string StateDirectory { get; } = stateDirectory;

        public LogCollector Logs { get; private set; } = new();

        public Process? Process { get; set; }

        public Uri PredictorAddress => new($"http://127.0.0.1:{Port}");

        public void Dispose()
        {
            Kill();
            _http.Dispose();
        }

        public FleetMember Restart()
        {
            Logs = new LogCollector();
            return this;
        }

        public async Task<JsonElement> StatusAsync()
        {
            using var document = JsonDocument.Parse(await GetAsync("/status"));
            return document.RootElement.Clone();
        }

        /// <summary>GET with the host's admin token (the deployer writes it into its state folder at start).</summary>
        private async Task<string> GetAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
            var tokenFile = Path.Combine(StateDirectory, StudentPerformance.Deployer.Admin.AdminOptions.DefaultTokenFileName);
            if (File.Exists(tokenFile))
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(tokenFile)).Trim());
            }

            using var response = await _http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadAsStringAsync();
        }

        public async Task<string?> RunningDigestAsync()
        {
            var status = await StatusAsync();
            return status.GetProperty("rolloutInProgress").GetBoolean() ? null : status.GetProperty("runningDigest").GetString();
        }

        public async Task<IReadOnlyList<string>> QuarantinedAsync() =>
            [.. (await StatusAsync()).GetProperty("quarantined").EnumerateArray().Select(q => q.GetProperty("digest").GetString()!)];

        public async Task<double> CounterAsync(string name, string label)
        {
            var metrics = await GetAsync("/metrics");
            var prefix = $"{name}{{event=\"{label}\"}} ";
            return metrics.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal))
                .Sum(l => double.Parse(l[prefix.Length..], CultureInfo.InvariantCulture));
        }

        /// <summary>SIGKILL: no shutdown, no lease released.</summary>
        public void Kill()
        {
            if (Process is { HasExited: false } process)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }

        public async Task StopAsync()
        {
            Kill();
            await Cli.TryRunAsync(["rm", "-f", ContainerName, ContainerName + "-previous", ContainerName + "-preflight"]);
        }
    }
}
