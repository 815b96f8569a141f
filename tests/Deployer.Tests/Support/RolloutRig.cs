using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StudentPerformance.Deployer.Admin;
using StudentPerformance.Deployer.Hosting;

namespace Deployer.Tests.Support;

/// <summary>
/// One end-to-end setup: a real registry on a free port, a unique repository, container name and host port,
/// a private state directory, and the deployer (in-process or as a child process) configured for them.
/// Dispose removes every container and image reference it made.
/// </summary>
public sealed partial class RolloutRig : IAsyncDisposable
{
    private readonly DockerClient _docker = new DockerClientConfiguration(new Uri("unix:///var/run/docker.sock")).CreateClient();
    private readonly List<DeployerInstance> _instances = [];
    private readonly List<Process> _processes = [];
    private readonly int[] _edgePorts = [.. Enumerable.Range(0, 5).Select(_ => LocalRegistry.FreePort())];

    private RolloutRig(LocalRegistry registry)
    {
        Registry = registry;
        var suffix = LocalRegistry.RandomSuffix();
        Repository = "e2e-" + suffix;
        ContainerName = "sp-e2e-" + suffix;
        HostPort = LocalRegistry.FreePort();
        StateDirectory = Directory.CreateTempSubdirectory("sp-deployer-e2e-").FullName;
    }

    public LocalRegistry Registry { get; }

    public string Repository { get; }

    /// <summary>The registry-qualified image name, as the engine sees it.</summary>
    public string ImageName => $"{Registry.HostPort}/{Repository}";

    public string ContainerName { get; }

    public int HostPort { get; }

    public string StateDirectory { get; }

    /// <summary>The managed predictor as clients reach it: the published port on 127.0.0.1.</summary>
    public Uri PredictorAddress => new($"http://127.0.0.1:{HostPort}");

    public DockerClient Docker => _docker;

    /// <summary>BlueGreen: the edge container's name.</summary>
    public string EdgeName => ContainerName + "-edge";

    /// <summary>BlueGreen: the slots' own network, removed with the rig.</summary>
    public string SlotNetwork => ContainerName + "-slots";

    /// <summary>A /29 of its own per rig: rigs run in parallel, and two networks may not share a subnet.</summary>
    public string SlotSubnet { get; } = $"10.213.{Random.Shared.Next(128, 256)}.{Random.Shared.Next(32) * 8}/29";

    public string BlueName => ContainerName + "-blue";

    /// <summary>The edge's runtime API port (TCP on 127.0.0.1) in <see cref="BlueGreen"/>'s settings.</summary>
    public int RuntimeApiPort => _edgePorts[0];

    public string GreenName => ContainerName + "-green";

    /// <summary>
    /// Settings for <c>Deployer:Strategy</c> = BlueGreen: the edge from <see cref="PredictorImages.Edge"/> on the rig's
    /// public port, the slots and the runtime API on free loopback ports, its configuration under the state folder.
    /// </summary>
    public Dictionary<string, string?> BlueGreen(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Deployer:Strategy"] = "BlueGreen",
            ["Deployer:Edge:Image"] = PredictorImages.Edge,
            ["Deployer:Edge:Name"] = EdgeName,
            ["Deployer:Edge:ConfigDirectory"] = Path.Combine(StateDirectory, "edge"),
            ["Deployer:Edge:RuntimeApi"] = $"127.0.0.1:{_edgePorts[0]}",
            ["Deployer:Edge:BluePorts:0"] = $"{_edgePorts[1]}:8000",
            ["Deployer:Edge:BluePorts:1"] = $"{_edgePorts[2]}:8080",
            ["Deployer:Edge:GreenPorts:0"] = $"{_edgePorts[3]}:8000",
            ["Deployer:Edge:GreenPorts:1"] = $"{_edgePorts[4]}:8080",
            ["Deployer:Edge:SlotNetwork"] = SlotNetwork,
            ["Deployer:Edge:SlotSubnet"] = SlotSubnet,
            ["Deployer:Edge:CheckInterval"] = "00:00:00.500",
            ["Deployer:Edge:DrainTimeout"] = "00:00:05",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    public static async Task<RolloutRig> StartAsync() => new(await LocalRegistry.StartAsync());

    /// <summary>Settings that make a test rollout quick; production defaults otherwise.</summary>
    public Dictionary<string, string?> Settings(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            // appsettings.json ships BlueGreen; these tests name the strategy they test (BlueGreen() switches).
            ["Deployer:Strategy"] = "Recreate",
            ["Deployer:Registry:Kind"] = "Oci",
            ["Deployer:Registry:Endpoint"] = Registry.Endpoint.ToString(),
            ["Deployer:Registry:RetryBaseDelay"] = "00:00:00.050",
            ["Deployer:Registry:MaxRetryAttempts"] = "1",
            ["Deployer:Registry:BreakDuration"] = "00:00:01",
            ["Deployer:Registry:RequestTimeout"] = "00:00:03",
            ["Deployer:Image:Repository"] = Repository,
            ["Deployer:Image:Tag"] = "latest",
            ["Deployer:Container:Name"] = ContainerName,
            ["Deployer:Container:Ports:0"] = $"127.0.0.1:{HostPort}:8000",
            ["Deployer:Container:StopTimeout"] = "00:00:05",
            ["Deployer:PollInterval"] = "00:00:00.500",
            ["Deployer:PollJitter"] = "00:00:00.100",
            ["Deployer:StateDirectory"] = StateDirectory,
            // Generous bounds, not timings: on a loaded 2-core host a predictor took 22-34 s to answer SERVING.
            ["Deployer:Preflight:Timeout"] = "00:01:30",
            ["Deployer:HealthGate:StableFor"] = "00:00:02",
            ["Deployer:HealthGate:Deadline"] = "00:01:30",
            ["Deployer:HealthGate:ProbeInterval"] = "00:00:00.100",
            // The bake is exercised by tests that set it; the others commit soon after the gate.
            ["Deployer:HealthGate:BakeTime"] = "00:00:01",
            ["Deployer:Disk:MinFreeMiB"] = "64",
            ["Deployer:Admin:Url"] = "http://127.0.0.1:0",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Tags a local image as <c>repository:latest</c>, pushes it and returns the pushed digest.</summary>
    public async Task<string> PushAsync(string localImage)
    {
        var reference = $"{ImageName}:latest";
        await Registry.Docker.RunAsync(["tag", localImage, reference]);
        var output = await Registry.Docker.RunAsync(["push", reference]);
        // Only the image's other name stays, so the engine holds nothing of this repository until the deployer pulls.
        await Registry.Docker.RunAsync(["rmi", reference]);
        var match = PushDigest().Match(output);
        Assert.True(match.Success, $"docker push printed no digest:\n{output}");
        return match.Groups["digest"].Value;
    }

    /// <summary>The admin token a deployer of this rig made (or read) in its state directory.</summary>
    public string AdminToken => File.ReadAllText(Path.Combine(StateDirectory, AdminOptions.DefaultTokenFileName)).Trim();

    /// <summary>Starts the deployer in this process, built by the same composition as Program.cs.</summary>
    public async Task<DeployerInstance> StartDeployerAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var logs = new LogCollector();
        var app = DeployerHostExtensions.BuildDeployer([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(Settings(overrides));
            builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var token = File.ReadAllText(app.Services.GetRequiredService<AdminToken>().Path).Trim();
        var instance = new DeployerInstance(app, new Uri(address), logs, token);
        _instances.Add(instance);
        return instance;
    }

    /// <summary>Starts the deployer as a child process (dotnet Deployer.dll), configured by environment alone.</summary>
    public Process StartDeployerProcess(LogCollector output, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Deployer.dll")])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in Settings(overrides))
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => output.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        return process;
    }

    public Task<bool> IsServingAsync() => Probes.IsServingAsync(PredictorAddress);

    public Task<string?> ModelVersionAsync() => Probes.ModelVersionAsync(PredictorAddress);

    public async Task<ContainerInspectResponse?> InspectAsync(string name)
    {
        try
        {
            return await _docker.Containers.InspectContainerAsync(name);
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The references of this repository the engine holds (tags and digests).</summary>
    public async Task<IReadOnlyList<ImagesListResponse>> LocalImagesAsync()
    {
        var images = await _docker.Images.ListImagesAsync(new ImagesListParameters());
        return [.. images.Where(i => (i.RepoDigests ?? []).Concat(i.RepoTags ?? []).Any(r => r.StartsWith(ImageName, StringComparison.Ordinal)))];
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        foreach (var name in new[] { ContainerName, ContainerName + "-previous", ContainerName + "-preflight", EdgeName, BlueName, GreenName })
        {
            await Cli.TryRunAsync(["rm", "-f", name]);
        }

        await Cli.TryRunAsync(["network", "rm", SlotNetwork]);

        foreach (var image in await LocalImagesAsync())
        {
            foreach (var reference in (image.RepoDigests ?? []).Concat(image.RepoTags ?? []).Where(r => r.StartsWith(ImageName, StringComparison.Ordinal)))
            {
                await Cli.TryRunAsync(["rmi", reference]);
            }
        }

        await Registry.DisposeAsync();
        _docker.Dispose();
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex("digest: (?<digest>sha256:[a-f0-9]{64})")]
    private static partial Regex PushDigest();
}

/// <summary>An in-process deployer and its admin endpoint.</summary>
public sealed class DeployerInstance(WebApplication app, Uri admin, LogCollector logs, string token) : IAsyncDisposable
{
    private readonly HttpClient _http = new()
    {
        BaseAddress = admin,
        Timeout = TimeSpan.FromSeconds(10),
        DefaultRequestHeaders = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token) },
    };
    private int _disposed;

    public WebApplication App { get; } = app;

    public Uri Admin { get; } = admin;

    public LogCollector Logs { get; } = logs;

    public async Task<JsonElement> StatusAsync()
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync(new Uri("/status", UriKind.Relative)));
        return document.RootElement.Clone();
    }

    public Task<string> GetAsync(string path) => _http.GetStringAsync(new Uri(path, UriKind.Relative));

    /// <summary>Waits until /status's last rollout is <paramref name="digest"/>'s and ended <paramref name="outcome"/>.</summary>
    public Task WaitForRolloutAsync(string digest, string outcome, TimeSpan timeout) =>
        Probes.WaitUntilAsync(
            async () => (await StatusAsync()).GetProperty("lastRollout") is { ValueKind: JsonValueKind.Object } last
                        && last.GetProperty("digest").GetString() == digest
                        && last.GetProperty("outcome").GetString() == outcome,
            timeout,
            $"rollout of {digest} to end {outcome}",
            () => Logs.Text);

    public async Task<HttpResponseMessage> PostAsync(string path) =>
        await _http.PostAsync(new Uri(path, UriKind.Relative), content: null);

    /// <summary>The outcome of the last rollout in /status, or null.</summary>
    public async Task<string?> LastOutcomeAsync()
    {
        var status = await StatusAsync();
        return status.GetProperty("lastRollout") is { ValueKind: JsonValueKind.Object } last ? last.GetProperty("outcome").GetString() : null;
    }

    /// <summary>The sum of every sample of a Prometheus counter on /metrics (all label values), or 0 before the first.</summary>
    public async Task<double> CounterAsync(string name)
    {
        var total = 0.0;
        foreach (var line in (await GetAsync("/metrics")).Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is '{' or ' ')
            {
                total += double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    /// <summary>
    /// Waits until <paramref name="counter"/> has advanced by <paramref name="more"/>: proof that the loop ran that many
    /// more times, so that "nothing changed" is asserted after ticks that could have changed it, not after a guess.
    /// </summary>
    public async Task WaitForMoreAsync(string counter, int more, TimeSpan timeout)
    {
        var target = await CounterAsync(counter) + more;
        await Probes.WaitUntilAsync(async () => await CounterAsync(counter) >= target, timeout, $"{more} more {counter}", () => Logs.Text);
    }

    public async Task<IReadOnlyList<string>> QuarantinedAsync()
    {
        var status = await StatusAsync();
        return [.. status.GetProperty("quarantined").EnumerateArray().Select(q => q.GetProperty("digest").GetString()!)];
    }

    /// <summary>Stops the deployer; safe to call again (the rig disposes every instance it started).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>Keeps log lines (from a logger or a child's stdout) for waiting and for failure messages.</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public string Text => string.Join('\n', _lines.TakeLast(300));

    public bool Contains(string text) => _lines.Any(l => l.Contains(text, StringComparison.Ordinal));

    public void Add(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
        }
    }

    public ILogger CreateLogger(string categoryName) => new Collector(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Collector(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(new StringBuilder().Append(logLevel).Append(' ').Append(category).Append(": ").Append(formatter(state, exception))
                .Append(exception is null ? "" : " " + exception.Message).ToString());
    }
}
