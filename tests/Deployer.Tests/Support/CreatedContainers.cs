using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Deployer.Tests.Support;

/// <summary>
/// Watches the engine's event stream and inspects each container created under one of the given names at its
/// <c>create</c> event, so a short-lived container (the preflight candidate) is seen while it exists.
/// </summary>
public sealed class CreatedContainers : IAsyncDisposable
{
    private readonly DockerClient _docker;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<string> _created = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, ContainerInspectResponse> _inspected = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _missed = new();
    private readonly Task _events;
    private readonly Task _inspecting;

    private CreatedContainers(Uri endpoint, IReadOnlyList<string> names)
    {
        // A client of its own: cancelling the event stream does not end its read, disposing the client does.
        _docker = new DockerClientConfiguration(endpoint, defaultTimeout: Timeout.InfiniteTimeSpan).CreateClient();
        // Since a second ago: the stream replays what happened between this call and the subscription.
        var since = (TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() - 1).ToString(CultureInfo.InvariantCulture);
        var filters = new Dictionary<string, IDictionary<string, bool>>
        {
            ["type"] = new Dictionary<string, bool> { ["container"] = true },
            ["event"] = new Dictionary<string, bool> { ["create"] = true },
            ["container"] = names.ToDictionary(n => n, _ => true),
        };
        _events = _docker.System.MonitorEventsAsync(
            new ContainerEventsParameters { Since = since, Filters = filters },
            new Collector(_created.Writer),
            _stop.Token);
        _inspecting = InspectAsync();
    }

    /// <summary>Container name to its inspect view, taken right after it was created.</summary>
    public IReadOnlyDictionary<string, ContainerInspectResponse> Inspected => _inspected;

    /// <summary>Containers that were gone before they could be inspected.</summary>
    public IReadOnlyCollection<string> Missed => _missed;

    public static CreatedContainers Watch(DockerClient docker, params string[] names)
    {
        ArgumentNullException.ThrowIfNull(docker);
        return new(docker.Configuration.EndpointBaseUri, names);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _created.Writer.TryComplete();
        _docker.Dispose();
        try
        {
            await Task.WhenAll(_events, _inspecting);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException or HttpRequestException)
        {
            // The stream ends by being cut off.
        }

        _stop.Dispose();
    }

    private async Task InspectAsync()
    {
        await foreach (var id in _created.Reader.ReadAllAsync(_stop.Token))
        {
            try
            {
                var container = await _docker.Containers.InspectContainerAsync(id, _stop.Token);
                _inspected[container.Name.TrimStart('/')] = container;
            }
            catch (DockerContainerNotFoundException)
            {
                _missed.Enqueue(id);
            }
        }
    }

    /// <summary>Hands events over synchronously (Progress&lt;T&gt; would post them to the thread pool out of order).</summary>
    private sealed class Collector(ChannelWriter<string> writer) : IProgress<Message>
    {
        public void Report(Message value)
        {
            if (value.Action == "create" && value.Actor?.ID is { Length: > 0 } id)
            {
                writer.TryWrite(id);
            }
        }
    }
}
