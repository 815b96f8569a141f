using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using StudentPerformance.Deployer.Registry;

namespace StudentPerformance.Deployer.Containers;

/// <summary>
/// <see cref="IContainerRuntime"/> over Docker.DotNet. Each call goes through the keyed "docker" pipeline
/// (pulls through "docker-pull"): transient failures are retried, each attempt has its own timeout.
/// </summary>
internal sealed class DockerContainerRuntime : IContainerRuntime, IDisposable
{
    public const string PipelineKey = "docker";
    public const string PullPipelineKey = "docker-pull";

    private readonly DockerClient _client;
    private readonly ResiliencePipeline _pipeline;
    private readonly ResiliencePipeline _pullPipeline;
    private readonly DiskGuardOptions _disk;

    public DockerContainerRuntime(
        IOptions<DockerOptions> docker,
        IOptions<DiskGuardOptions> disk,
        ResiliencePipelineProvider<string> pipelines)
    {
        // The pipeline owns the per-call timeout; the client's own must not cut a long pull short.
        _client = new DockerClientConfiguration(new Uri(docker.Value.Endpoint), defaultTimeout: Timeout.InfiniteTimeSpan).CreateClient();
        _pipeline = pipelines.GetPipeline(PipelineKey);
        _pullPipeline = pipelines.GetPipeline(PullPipelineKey);
        _disk = disk.Value;
    }

    public Task<ContainerInfo?> InspectAsync(string name, CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "inspect container", async ct =>
        {
            ContainerInspectResponse container;
            try
            {
                container = await _client.Containers.InspectContainerAsync(name, ct).ConfigureAwait(false);
            }
            catch (DockerContainerNotFoundException)
            {
                return null;
            }

            IList<string>? repoDigests = null;
            try
            {
                var image = await _client.Images.InspectImageAsync(container.Image, ct).ConfigureAwait(false);
                repoDigests = image.RepoDigests;
            }
            catch (DockerImageNotFoundException)
            {
                // The image was removed under a stopped container; it has no digests to compare.
            }

            return ToInfo(container, repoDigests);
        }, cancellationToken);

    public Task PullAsync(string reference, RegistryCredentials? credentials, CancellationToken cancellationToken) =>
        CallAsync(_pullPipeline, "pull image", async ct =>
        {
            if (await HasImageAsync(reference, ct).ConfigureAwait(false))
            {
                return true;
            }

            var progress = new PullProgress();
            var auth = credentials is null
                ? new AuthConfig()
                : new AuthConfig { ServerAddress = credentials.ServerAddress, Username = credentials.Username, Password = credentials.Password };
            await _client.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = reference }, auth, progress, ct).ConfigureAwait(false);
            if (progress.Error is { } error)
            {
                throw new ContainerRuntimeException($"pull of {reference} failed: {error}", isTransient: !IsAuthError(error), isUnauthorized: IsAuthError(error));
            }

            if (!await HasImageAsync(reference, ct).ConfigureAwait(false))
            {
                throw new ContainerRuntimeException($"pull of {reference} reported success but the engine does not have the image", isTransient: true);
            }

            return true;
        }, cancellationToken);

    public Task CreateAsync(ContainerSpec spec, CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "create container", async ct =>
        {
            await RemoveIfCreatedByUsAsync(spec, ct).ConfigureAwait(false);
            return await CreateContainerAsync(spec, ct).ConfigureAwait(false);
        }, cancellationToken);

    public Task<ContainerInfo> RunAsync(ContainerSpec spec, CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "create and start container", async ct =>
        {
            // Retried attempts must not trip over the container an earlier attempt created.
            await RemoveIfCreatedByUsAsync(spec, ct).ConfigureAwait(false);
            var id = await CreateContainerAsync(spec, ct).ConfigureAwait(false);
            await _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), ct).ConfigureAwait(false);
            var started = await _client.Containers.InspectContainerAsync(id, ct).ConfigureAwait(false);
            return ToInfo(started, repoDigests: null);
        }, cancellationToken);

    private async Task<string> CreateContainerAsync(ContainerSpec spec, CancellationToken ct)
    {
        if (spec.Network is { } network)
        {
            await EnsureNetworkAsync(network, ct).ConfigureAwait(false);
        }

        var exposed = spec.Ports.ToDictionary(p => Port(p.ContainerPort), _ => new EmptyStruct());
        var bindings = spec.Ports
            .GroupBy(p => Port(p.ContainerPort))
            .ToDictionary(
                g => g.Key,
                g => (IList<Docker.DotNet.Models.PortBinding>)g.Select(p => new Docker.DotNet.Models.PortBinding
                {
                    HostIP = p.HostIp,
                    HostPort = p.HostPort == 0 ? "" : p.HostPort.ToString(CultureInfo.InvariantCulture),
                }).ToList());
        var hardening = spec.Hardening;
        var created = await _client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = spec.Name,
            Image = spec.Image,
            Env = spec.Env.Select(kv => $"{kv.Key}={kv.Value}").ToList(),
            Labels = new Dictionary<string, string>(spec.Labels),
            ExposedPorts = exposed,
            HostConfig = new HostConfig
            {
                PortBindings = bindings,
                RestartPolicy = new RestartPolicy { Name = ParseRestartPolicy(spec.RestartPolicy) },
                Memory = spec.MemoryBytes,
                NanoCPUs = spec.NanoCpus,
                NetworkMode = spec.Network?.Name ?? spec.NetworkMode,
                Binds = spec.Binds?.ToList(),
                ReadonlyRootfs = hardening.ReadOnlyRootFs,
                Tmpfs = hardening.Tmpfs.Count == 0 ? null : new Dictionary<string, string>(hardening.Tmpfs),
                CapDrop = hardening.CapDrop.Count == 0 ? null : [.. hardening.CapDrop],
                CapAdd = hardening.CapAdd.Count == 0 ? null : [.. hardening.CapAdd],
                SecurityOpt = hardening.NoNewPrivileges ? [ContainerHardening.NoNewPrivilegesOption] : null,
                PidsLimit = hardening.PidsLimit > 0 ? hardening.PidsLimit : null,
                // Null leaves the engine's default driver (daemon.json) in place.
                LogConfig = hardening.LogDriver.Length == 0 ? null : new LogConfig { Type = hardening.LogDriver, Config = new Dictionary<string, string>(hardening.LogOptions) },
            },
            NetworkingConfig = spec.Network is { } fixedAddress
                ? new NetworkingConfig
                {
                    EndpointsConfig = new Dictionary<string, EndpointSettings>
                    {
                        [fixedAddress.Name] = new() { IPAMConfig = new EndpointIPAMConfig { IPv4Address = fixedAddress.IPv4Address } },
                    },
                }
                : null,
        }, ct).ConfigureAwait(false);
        return created.ID;
    }

    public Task<bool> ConnectNetworkAsync(string name, ContainerNetwork network, CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "connect container to network", async ct =>
        {
            ContainerInspectResponse container;
            try
            {
                container = await _client.Containers.InspectContainerAsync(name, ct).ConfigureAwait(false);
            }
            catch (DockerContainerNotFoundException)
            {
                return false;
            }

            if (container.NetworkSettings?.Networks?.ContainsKey(network.Name) == true)
            {
                return true;
            }

            await EnsureNetworkAsync(network, ct).ConfigureAwait(false);
            await _client.Networks.ConnectNetworkAsync(network.Name, new NetworkConnectParameters
            {
                Container = container.ID,
                EndpointConfig = new EndpointSettings { IPAMConfig = new EndpointIPAMConfig { IPv4Address = network.IPv4Address } },
            }, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    /// <summary>
    /// Creates the bridge network when it is missing (labelled as the deployer's). An existing one must have the
    /// subnet: a fixed address outside it cannot be given, and the engine's own error would not say why.
    /// </summary>
    private async Task EnsureNetworkAsync(ContainerNetwork network, CancellationToken ct)
    {
        NetworkResponse? existing;
        try
        {
            existing = await _client.Networks.InspectNetworkAsync(network.Name, ct).ConfigureAwait(false);
        }
        catch (DockerNetworkNotFoundException)
        {
            existing = null;
        }

        if (existing is null)
        {
            try
            {
                await _client.Networks.CreateNetworkAsync(new NetworksCreateParameters
                {
                    Name = network.Name,
                    Driver = "bridge",
                    CheckDuplicate = true,
                    IPAM = new IPAM { Config = [new IPAMConfig { Subnet = network.Subnet }] },
                    Labels = new Dictionary<string, string> { [ContainerLabels.Managed] = "true" },
                }, ct).ConfigureAwait(false);
                return;
            }
            catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
            {
                // Created meanwhile (a retried attempt): check it as an existing one.
                existing = await _client.Networks.InspectNetworkAsync(network.Name, ct).ConfigureAwait(false);
            }
        }

        var subnets = existing.IPAM?.Config?.Select(c => c.Subnet).ToList() ?? [];
        if (!subnets.Contains(network.Subnet, StringComparer.Ordinal))
        {
            throw new ContainerRuntimeException(
                $"network '{network.Name}' exists with subnet {string.Join(", ", subnets)}, not {network.Subnet}: remove it or change the setting that names {network.Subnet}",
                isTransient: false);
        }
    }

    /// <summary>The hardening as the engine reports it, in the spellings <see cref="ContainerHardening"/> compares.</summary>
    private static ContainerHardening ReadHardening(HostConfig? host) => host is null
        ? ContainerHardening.None
        : new ContainerHardening(
            host.ReadonlyRootfs,
            host.Tmpfs is { } tmpfs ? new Dictionary<string, string>(tmpfs, StringComparer.Ordinal) : new Dictionary<string, string>(StringComparer.Ordinal),
            [.. (host.CapDrop ?? []).Select(ContainerHardening.NormalizeCapability)],
            [.. (host.CapAdd ?? []).Select(ContainerHardening.NormalizeCapability)],
            (host.SecurityOpt ?? []).Any(ContainerHardening.IsNoNewPrivileges),
            host.PidsLimit is > 0 and var pids ? pids : 0,
            host.LogConfig?.Type ?? "",
            host.LogConfig?.Config is { } config ? new Dictionary<string, string>(config, StringComparer.Ordinal) : new Dictionary<string, string>(StringComparer.Ordinal));

    public Task<bool> StartAsync(string name, CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "start container", async ct =>
        {
            try
            {
                await _client.Containers.StartContainerAsync(name, new ContainerStartParameters(), ct).ConfigureAwait(false);
                return true;
            }
            catch (DockerContainerNotFoundException)
            {
                return false;
            }
        }, cancellationToken);

    public Task<bool> StopAsync(string name, TimeSpan timeout, CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "stop container", async ct =>
        {
            try
            {
                // The engine waits up to the timeout before SIGKILL; the call must be allowed that long.
                await _client.Containers.StopContainerAsync(
                    name,
                    new ContainerStopParameters { WaitBeforeKillSeconds = (uint)Math.Ceiling(timeout.TotalSeconds) },
                    ct).ConfigureAwait(false);
                return true;
            }
            catch (DockerContainerNotFoundException)
            {
                return false;
            }
        }, cancellationToken);

    public Task<bool> RenameAsync(string name, string newName, CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "rename container", async ct =>
        {
            try
            {
                await _client.Containers.RenameContainerAsync(name, new ContainerRenameParameters { NewName = newName }, ct).ConfigureAwait(false);
                return true;
            }
            catch (DockerContainerNotFoundException)
            {
                return false;
            }
        }, cancellationToken);

    public Task<bool> RemoveAsync(string name, CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "remove container", async ct =>
        {
            try
            {
                await _client.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true }, ct).ConfigureAwait(false);
                return true;
            }
            catch (DockerContainerNotFoundException)
            {
                return false;
            }
        }, cancellationToken);

    public Task<IReadOnlyList<ImageInfo>> ListImagesAsync(string repository, CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "list images", async ct =>
        {
            // Filtered here rather than by the engine's "reference" filter, which misses images pulled by digest only.
            var all = await _client.Images.ListImagesAsync(new ImagesListParameters { All = false }, ct).ConfigureAwait(false);
            IReadOnlyList<ImageInfo> images = all
                .Select(i => new ImageInfo(
                    i.ID,
                    (i.RepoTags ?? []).Where(t => BelongsTo(t, repository)).ToList(),
                    (i.RepoDigests ?? []).Where(d => BelongsTo(d, repository)).ToList(),
                    new DateTimeOffset(DateTime.SpecifyKind(i.Created, DateTimeKind.Utc)),
                    i.Size))
                .Where(i => i.RepoTags.Count > 0 || i.RepoDigests.Count > 0)
                .OrderByDescending(i => i.Created)
                .ToList();
            return images;
        }, cancellationToken);

    public Task<bool> RemoveImageAsync(string reference, CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "remove image", async ct =>
        {
            try
            {
                await _client.Images.DeleteImageAsync(reference, new ImageDeleteParameters { Force = false, NoPrune = false }, ct).ConfigureAwait(false);
                return true;
            }
            catch (DockerImageNotFoundException)
            {
                return false;
            }
            catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
            {
                // In use by a container (for example the previous one, kept for rollback).
                return false;
            }
        }, cancellationToken);

    public Task<long> PruneDanglingImagesAsync(CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "prune images", async ct =>
        {
            var result = await _client.Images.PruneImagesAsync(
                new ImagesPruneParameters { Filters = new Dictionary<string, IDictionary<string, bool>> { ["dangling"] = new Dictionary<string, bool> { ["true"] = true } } },
                ct).ConfigureAwait(false);
            return (long)result.SpaceReclaimed;
        }, cancellationToken);

    public Task<long?> GetFreeSpaceAsync(CancellationToken cancellationToken) =>
        CallAsync(_pipeline, "measure free space", async ct =>
        {
            var path = _disk.DataRootPath;
            if (path.Length == 0)
            {
                var info = await _client.System.GetSystemInfoAsync(ct).ConfigureAwait(false);
                path = info.DockerRootDir;
                if (!Directory.Exists(path))
                {
                    return (long?)null;
                }
            }
            else if (!Directory.Exists(path))
            {
                throw new ContainerRuntimeException($"cannot measure free space: Deployer:Disk:DataRootPath '{path}' does not exist", isTransient: false);
            }

            return new DriveInfo(path).AvailableFreeSpace;
        }, cancellationToken);

    public void Dispose() => _client.Dispose();

    private async Task<bool> HasImageAsync(string reference, CancellationToken ct)
    {
        try
        {
            await _client.Images.InspectImageAsync(reference, ct).ConfigureAwait(false);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
    }

    private async Task RemoveIfCreatedByUsAsync(ContainerSpec spec, CancellationToken ct)
    {
        try
        {
            var existing = await _client.Containers.InspectContainerAsync(spec.Name, ct).ConfigureAwait(false);
            if (existing.Config.Labels is { } labels
                && spec.Labels.TryGetValue(ContainerLabels.RolloutId, out var rolloutId)
                && labels.TryGetValue(ContainerLabels.RolloutId, out var existingRolloutId)
                && rolloutId == existingRolloutId)
            {
                await _client.Containers.RemoveContainerAsync(existing.ID, new ContainerRemoveParameters { Force = true }, ct).ConfigureAwait(false);
            }
        }
        catch (DockerContainerNotFoundException)
        {
        }
    }

    private static async Task<T> CallAsync<T>(ResiliencePipeline pipeline, string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await pipeline.ExecuteAsync(async ct =>
            {
                try
                {
                    return await call(ct).ConfigureAwait(false);
                }
                catch (DockerApiException ex)
                {
                    var status = (int)ex.StatusCode;
                    var unauthorized = ex.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden || IsAuthError(ex.ResponseBody);
                    throw new ContainerRuntimeException(
                        $"{operation}: engine answered {status}: {Trim(ex.ResponseBody)}",
                        isTransient: !unauthorized && (status >= 500 || ex.StatusCode == HttpStatusCode.TooManyRequests),
                        isUnauthorized: unauthorized,
                        inner: ex,
                        isMissingImage: ex.StatusCode == HttpStatusCode.NotFound && (ex.ResponseBody ?? "").Contains("No such image", StringComparison.OrdinalIgnoreCase));
                }
                catch (Exception ex) when (ex is HttpRequestException or SocketException or IOException or TimeoutException
                                           || (ex is TaskCanceledException && !ct.IsCancellationRequested))
                {
                    throw new ContainerRuntimeException($"{operation}: engine unreachable: {ex.Message}", isTransient: true, inner: ex);
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Polly.Timeout.TimeoutRejectedException ex)
        {
            throw new ContainerRuntimeException($"{operation}: engine did not answer in time", isTransient: true, inner: ex);
        }
    }

    private static bool BelongsTo(string reference, string repository) =>
        reference.StartsWith(repository, StringComparison.Ordinal)
        && reference.Length > repository.Length
        && reference[repository.Length] is ':' or '@';

    private static bool IsAuthError(string? message) =>
        message is not null
        && (message.Contains("unauthorized", StringComparison.OrdinalIgnoreCase)
            || message.Contains("denied", StringComparison.OrdinalIgnoreCase)
            || message.Contains("authentication required", StringComparison.OrdinalIgnoreCase)
            || message.Contains("no basic auth credentials", StringComparison.OrdinalIgnoreCase));

    private static string Trim(string? body) => body is null ? "" : body.Length > 300 ? body[..300] : body.Trim();

    private static string Port(int containerPort) => containerPort.ToString(CultureInfo.InvariantCulture) + "/tcp";

    private static RestartPolicyKind ParseRestartPolicy(string policy) => policy switch
    {
        "always" => RestartPolicyKind.Always,
        "unless-stopped" => RestartPolicyKind.UnlessStopped,
        "on-failure" => RestartPolicyKind.OnFailure,
        _ => RestartPolicyKind.No,
    };

    private static ContainerInfo ToInfo(ContainerInspectResponse c, IList<string>? repoDigests)
    {
        var ports = new List<PortBinding>();
        if (c.NetworkSettings?.Ports is { } published)
        {
            foreach (var (key, hostBindings) in published)
            {
                if (hostBindings is null || !key.EndsWith("/tcp", StringComparison.Ordinal)
                    || !int.TryParse(key.AsSpan(0, key.Length - 4), NumberStyles.None, CultureInfo.InvariantCulture, out var containerPort))
                {
                    continue;
                }

                foreach (var b in hostBindings)
                {
                    if (int.TryParse(b.HostPort, NumberStyles.None, CultureInfo.InvariantCulture, out var hostPort))
                    {
                        ports.Add(new PortBinding(b.HostIP, hostPort, containerPort));
                    }
                }
            }
        }

        var state = c.State;
        DateTimeOffset? startedAt = DateTimeOffset.TryParse(state?.StartedAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var started)
            && started.Year > 1 ? started : null;
        return new ContainerInfo(
            c.ID,
            c.Name.TrimStart('/'),
            c.Image,
            new ContainerState(state?.Status ?? "unknown", state?.Running ?? false, state?.Restarting ?? false, (int)c.RestartCount, state?.ExitCode ?? 0, startedAt),
            c.Config?.Labels is { } labels ? new Dictionary<string, string>(labels) : new Dictionary<string, string>(),
            repoDigests?.ToList() ?? [],
            ports)
        {
            Hardening = ReadHardening(c.HostConfig),
        };
    }

    /// <summary>Collects the stream's error synchronously (Progress&lt;T&gt; would report it after the call returned).</summary>
    private sealed class PullProgress : IProgress<JSONMessage>
    {
        public string? Error { get; private set; }

        public void Report(JSONMessage value)
        {
            if (!string.IsNullOrEmpty(value.ErrorMessage) || value.Error is not null)
            {
                Error ??= value.Error?.Message ?? value.ErrorMessage;
            }
        }
    }
}
