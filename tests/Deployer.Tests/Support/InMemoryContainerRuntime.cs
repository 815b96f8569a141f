using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Registry;

namespace Deployer.Tests.Support;

/// <summary>The engine operations <see cref="InMemoryContainerRuntime"/> can be told to fail.</summary>
public enum EngineOperation
{
    Inspect,
    Pull,
    Create,
    Run,
    Start,
    Stop,
    Rename,
    Remove,
    ListImages,
    RemoveImage,
    PruneDangling,
    FreeSpace,
    ConnectNetwork,
}

/// <summary>How a container made from an image behaves once started.</summary>
/// <param name="Serves">Answers grpc.health.v1 SERVING while it runs.</param>
/// <param name="ExitsWith">
/// Crashes with this code right after it starts (the engine's own inspect after start still sees it running);
/// under a restart policy other than <c>no</c> it restarts instead, again and again.
/// </param>
/// <param name="GoldenScore">What the golden Predict request answers.</param>
public sealed record ImageBehaviour(bool Serves = true, long? ExitsWith = null, double GoldenScore = 70)
{
    public static readonly ImageBehaviour Healthy = new();
}

/// <summary>
/// A Docker engine in memory, faithful where the rollout looks: containers by name with created/running/exited
/// states, one name per container and one running owner per host port, rename, stop, start, restart counts under a
/// restart policy, published ports only while running, images by digest with their references, free space that
/// pruning gives back, and credentials checked on pull. Any operation can be made to fail, once or always.
/// </summary>
public sealed class InMemoryContainerRuntime : IContainerRuntime
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Box> _containers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Image> _images = new(StringComparer.Ordinal);
    private readonly List<Fault> _faults = [];
    private int _nextId;
    private int _nextEphemeralPort = 40000;
    private int _clock;

    /// <param name="remote">The registry the engine pulls from; its credentials are checked on every pull.</param>
    public InMemoryContainerRuntime(InMemoryImageRegistry remote) => Remote = remote;

    public InMemoryImageRegistry Remote { get; }

    /// <summary>Free bytes on the data root; null means "cannot be measured from here".</summary>
    public long? FreeBytes { get; set; } = 100L * 1024 * 1024 * 1024;

    /// <summary>Every call, in order, as "Operation name" (for asserting what the plan did and did not do).</summary>
    public List<string> Calls { get; } = [];

    /// <summary>Makes <paramref name="operation"/> on <paramref name="name"/> (any name when null) throw, <paramref name="times"/> times (null: always).</summary>
    public void Fail(EngineOperation operation, string? name, Exception error, int? times = 1)
    {
        lock (_gate)
        {
            _faults.Add(new Fault(operation, name, error, times));
        }
    }

    /// <summary>An image the engine already holds (pulled earlier), with its repository digest reference.</summary>
    public void AddLocalImage(string repository, string digest, ImageBehaviour behaviour, long size = 100L * 1024 * 1024, string? tag = null)
    {
        lock (_gate)
        {
            var image = ImageFor(digest, behaviour, size);
            image.RepoDigests.Add($"{repository}@{digest}");
            if (tag is not null)
            {
                image.RepoTags.Add($"{repository}:{tag}");
            }
        }
    }

    /// <summary>A container nobody deployed through the plan (a hand-run one, or one a killed deployer left).</summary>
    public void AddContainer(ContainerSpec spec, string status)
    {
        lock (_gate)
        {
            var box = CreateLocked(spec);
            if (status == "running")
            {
                StartLocked(box);
            }
            else
            {
                box.Status = status;
            }
        }
    }

    /// <summary>Makes a running container die, as a crash would.</summary>
    public void Kill(string name, long exitCode)
    {
        lock (_gate)
        {
            var box = _containers[name];
            box.Status = "exited";
            box.ExitCode = exitCode;
        }
    }

    public IReadOnlyList<string> ContainerNames
    {
        get
        {
            lock (_gate)
            {
                return [.. _containers.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    public bool HasImage(string digest)
    {
        lock (_gate)
        {
            return _images.ContainsKey(digest);
        }
    }

    /// <summary>The behaviour of the running container that publishes <paramref name="hostPort"/>, or null.</summary>
    public ImageBehaviour? ServingBehindPort(int hostPort)
    {
        lock (_gate)
        {
            var box = _containers.Values.FirstOrDefault(b => b.Status == "running" && b.Ports.Any(p => p.HostPort == hostPort));
            return box is null || _images[box.ImageId].Behaviour.ExitsWith is not null ? null : _images[box.ImageId].Behaviour;
        }
    }

    public Task<ContainerInfo?> InspectAsync(string name, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.Inspect, name, cancellationToken), () => _containers.TryGetValue(name, out var box) ? ToInfo(box) : null);

    public Task PullAsync(string reference, RegistryCredentials? credentials, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.Pull, reference, cancellationToken), () =>
        {
            var at = reference.IndexOf('@', StringComparison.Ordinal);
            var digest = reference[(at + 1)..];
            if (_images.TryGetValue(digest, out var local) && local.RepoDigests.Contains(reference))
            {
                return true;
            }

            if (!Remote.Accepts(credentials))
            {
                throw new ContainerRuntimeException($"pull of {reference} failed: unauthorized: authentication required", isTransient: false, isUnauthorized: true);
            }

            var published = Remote.Published(digest)
                ?? throw new ContainerRuntimeException($"pull of {reference} failed: manifest unknown", isTransient: false);
            var image = ImageFor(digest, published.Behaviour, published.Size);
            image.RepoDigests.Add(reference);
            FreeBytes -= published.Size;
            return true;
        });

    public Task CreateAsync(ContainerSpec spec, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.Create, spec.Name, cancellationToken), () => CreateLocked(spec) is not null);

    public Task<ContainerInfo> RunAsync(ContainerSpec spec, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.Run, spec.Name, cancellationToken), () =>
        {
            var box = CreateLocked(spec);
            StartLocked(box);
            return ToInfo(box, look: false);
        });

    public Task<bool> StartAsync(string name, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.Start, name, cancellationToken), () =>
        {
            if (!_containers.TryGetValue(name, out var box))
            {
                return false;
            }

            if (box.Status != "running")
            {
                StartLocked(box);
            }

            return true;
        });

    public Task<bool> StopAsync(string name, TimeSpan timeout, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.Stop, name, cancellationToken), () =>
        {
            if (!_containers.TryGetValue(name, out var box))
            {
                return false;
            }

            if (box.Status is "running" or "restarting")
            {
                box.Status = "exited";
                box.ExitCode = 0;
                box.Ports.Clear();
            }

            return true;
        });

    public Task<bool> RenameAsync(string name, string newName, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.Rename, name, cancellationToken), () =>
        {
            if (!_containers.Remove(name, out var box))
            {
                return false;
            }

            if (_containers.ContainsKey(newName))
            {
                _containers[name] = box;
                throw new ContainerRuntimeException($"Conflict. The container name \"/{newName}\" is already in use", isTransient: false);
            }

            box.Name = newName;
            _containers[newName] = box;
            return true;
        });

    public Task<bool> ConnectNetworkAsync(string name, ContainerNetwork network, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.ConnectNetwork, name, cancellationToken), () =>
        {
            if (!_containers.TryGetValue(name, out var box))
            {
                return false;
            }

            box.Networks.Add(network);
            return true;
        });

    /// <summary>The networks a container is attached to (by its spec or since), or none when it does not exist.</summary>
    public IReadOnlyCollection<ContainerNetwork> NetworksOf(string name)
    {
        lock (_gate)
        {
            return _containers.TryGetValue(name, out var box) ? [.. box.Networks] : [];
        }
    }

    public Task<bool> RemoveAsync(string name, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.Remove, name, cancellationToken), () => _containers.Remove(name));

    public Task<IReadOnlyList<ImageInfo>> ListImagesAsync(string repository, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.ListImages, repository, cancellationToken), () => (IReadOnlyList<ImageInfo>)_images.Values
            .Select(i => new ImageInfo(
                i.Id,
                i.RepoTags.Where(t => t.StartsWith(repository + ":", StringComparison.Ordinal)).ToList(),
                i.RepoDigests.Where(d => d.StartsWith(repository + "@", StringComparison.Ordinal)).ToList(),
                i.Created,
                i.Size))
            .Where(i => i.RepoTags.Count > 0 || i.RepoDigests.Count > 0)
            .OrderByDescending(i => i.Created)
            .ToList());

    public Task<bool> RemoveImageAsync(string reference, CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.RemoveImage, reference, cancellationToken), () =>
        {
            var image = _images.Values.FirstOrDefault(i => i.RepoTags.Contains(reference) || i.RepoDigests.Contains(reference));
            if (image is null || _containers.Values.Any(c => c.ImageId == image.Digest))
            {
                // Missing, or the engine's 409: a container (even a stopped one) still uses it.
                return false;
            }

            image.RepoTags.Remove(reference);
            image.RepoDigests.Remove(reference);
            if (image.RepoTags.Count == 0 && image.RepoDigests.Count == 0)
            {
                _images.Remove(image.Digest);
                FreeBytes += image.Size;
            }

            return true;
        });

    public Task<long> PruneDanglingImagesAsync(CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.PruneDangling, null, cancellationToken), () => 0L);

    public Task<long?> GetFreeSpaceAsync(CancellationToken cancellationToken) =>
        Do(new Call(EngineOperation.FreeSpace, null, cancellationToken), () => FreeBytes);

    private Task<T> Do<T>(Call call, Func<T> action)
    {
        var (operation, name, cancellationToken) = call;
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            Calls.Add(name is null ? operation.ToString() : $"{operation} {name}");
            var fault = _faults.FirstOrDefault(f => f.Operation == operation && (f.Name is null || f.Name == name) && f.Remaining is null or > 0);
            if (fault is not null)
            {
                fault.Remaining--;
                return Task.FromException<T>(fault.Error);
            }

            try
            {
                return Task.FromResult(action());
            }
            catch (ContainerRuntimeException ex)
            {
                return Task.FromException<T>(ex);
            }
        }
    }

    private Image ImageFor(string digest, ImageBehaviour behaviour, long size)
    {
        if (!_images.TryGetValue(digest, out var image))
        {
            image = new Image(digest, $"sha256:image-of-{digest[7..]}", behaviour, size, DateTimeOffset.UnixEpoch.AddMinutes(++_clock));
            _images[digest] = image;
        }

        return image;
    }

    private Box CreateLocked(ContainerSpec spec)
    {
        if (_containers.ContainsKey(spec.Name))
        {
            throw new ContainerRuntimeException($"Conflict. The container name \"/{spec.Name}\" is already in use", isTransient: false);
        }

        // The engine resolves repo@digest to a local image or answers "No such image".
        var at = spec.Image.IndexOf('@', StringComparison.Ordinal);
        if (at < 0 || !_images.TryGetValue(spec.Image[(at + 1)..], out var image) || !image.RepoDigests.Contains(spec.Image))
        {
            throw new ContainerRuntimeException($"No such image: {spec.Image}", isTransient: false);
        }

        var box = new Box($"c{++_nextId:D4}", spec.Name, spec, image.Digest) { Status = "created" };
        _containers[spec.Name] = box;
        return box;
    }

    private void StartLocked(Box box)
    {
        var ports = new List<PortBinding>();
        foreach (var wanted in box.Spec.Ports)
        {
            var hostPort = wanted.HostPort == 0 ? _nextEphemeralPort++ : wanted.HostPort;
            if (_containers.Values.Any(c => c != box && c.Status is "running" or "restarting" && c.Ports.Any(p => p.HostPort == hostPort)))
            {
                throw new ContainerRuntimeException(
                    $"driver failed programming external connectivity on endpoint {box.Name}: Bind for {wanted.HostIp}:{hostPort} failed: port is already allocated",
                    isTransient: false);
            }

            ports.Add(wanted with { HostPort = hostPort });
        }

        box.Status = "running";
        box.ExitCode = 0;
        box.Ports.AddRange(ports);
        box.CrashPending = _images[box.ImageId].Behaviour.ExitsWith is not null;
    }

    private ContainerInfo ToInfo(Box box, bool look = true)
    {
        if (look && box.CrashPending)
        {
            box.CrashPending = false;
            box.ExitCode = _images[box.ImageId].Behaviour.ExitsWith!.Value;
            box.Status = box.Spec.RestartPolicy == "no" ? "exited" : "restarting";
            box.Ports.Clear();
        }

        if (look && box.Status == "restarting")
        {
            // A crash loop: every look finds it restarted once more.
            box.RestartCount++;
        }

        var image = _images.TryGetValue(box.ImageId, out var found) ? found : null;
        return new ContainerInfo(
            box.Id,
            box.Name,
            image?.Id ?? "sha256:removed",
            new ContainerState(box.Status, box.Status == "running", box.Status == "restarting", box.RestartCount, box.ExitCode, null),
            new Dictionary<string, string>(box.Spec.Labels),
            image is null ? [] : [.. image.RepoDigests],
            [.. box.Ports]);
    }

    private readonly record struct Call(EngineOperation Operation, string? Name, CancellationToken CancellationToken);

    private sealed class Box(string id, string name, ContainerSpec spec, string imageId)
    {
        public string Id { get; } = id;

        public string Name { get; set; } = name;

        public ContainerSpec Spec { get; } = spec;

        /// <summary>The image's key in the image table: its digest.</summary>
        public string ImageId { get; } = imageId;

        public string Status { get; set; } = "created";

        public int RestartCount { get; set; }

        public long ExitCode { get; set; }

        /// <summary>Started from an image that crashes: the next look finds it down (or restarting).</summary>
        public bool CrashPending { get; set; }

        public List<PortBinding> Ports { get; } = [];

        public HashSet<ContainerNetwork> Networks { get; } = spec.Network is { } network ? [network] : [];
    }

    private sealed class Image(string digest, string id, ImageBehaviour behaviour, long size, DateTimeOffset created)
    {
        public string Digest { get; } = digest;

        public string Id { get; } = id;

        public ImageBehaviour Behaviour { get; } = behaviour;

        public long Size { get; } = size;

        public DateTimeOffset Created { get; } = created;

        public List<string> RepoTags { get; } = [];

        public List<string> RepoDigests { get; } = [];
    }

    private sealed class Fault(EngineOperation operation, string? name, Exception error, int? remaining)
    {
        public EngineOperation Operation { get; } = operation;

        public string? Name { get; } = name;

        public Exception Error { get; } = error;

        public int? Remaining { get; set; } = remaining;
    }
}
