using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StudentPerformance.Deployer.Registry;

namespace Deployer.Tests.Registry;

/// <summary>The registry port as the deployer wires it (AddImageRegistry), with logs captured for assertions.</summary>
internal sealed class RegistryTestHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private RegistryTestHost(ServiceProvider services, CollectingLoggerProvider logs)
    {
        _services = services;
        Logs = logs;
    }

    public CollectingLoggerProvider Logs { get; }

    public IImageRegistry Registry => _services.GetRequiredService<IImageRegistry>();

    public IServiceProvider Services => _services;

    /// <summary>Quick retries so that outage tests stay short; everything else as in production.</summary>
    public static readonly IReadOnlyDictionary<string, string?> FastRetries = new Dictionary<string, string?>
    {
        ["Deployer:Registry:RetryBaseDelay"] = "00:00:00.020",
        ["Deployer:Registry:RequestTimeout"] = "00:00:10",
    };

    public static RegistryTestHost Create(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? configure = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(FastRetries)
            .AddInMemoryCollection(settings)
            .Build();
        var logs = new CollectingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        configure?.Invoke(services);
        services.AddImageRegistry(configuration);
        return new RegistryTestHost(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }), logs);
    }

    public static RegistryTestHost ForOci(Uri endpoint, string repository, string? username = null, string? password = null, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Deployer:Registry:Kind"] = "Oci",
            ["Deployer:Registry:Endpoint"] = endpoint.ToString(),
            ["Deployer:Registry:Username"] = username,
            ["Deployer:Registry:Password"] = password,
            ["Deployer:Image:Repository"] = repository,
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return Create(settings);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}

/// <summary>Keeps every formatted log line, so tests can see retries and check that no secret was written.</summary>
internal sealed class CollectingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(int EventId, string Message)> _entries = new();

    public IReadOnlyList<(int EventId, string Message)> Entries => [.. _entries];

    public int Count(int eventId) => _entries.Count(e => e.EventId == eventId);

    public string AllText => string.Join('\n', _entries.Select(e => e.Message));

    public ILogger CreateLogger(string categoryName) => new Collector(_entries);

    public void Dispose()
    {
    }

    private sealed class Collector(ConcurrentQueue<(int, string)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue((eventId.Id, formatter(state, exception) + (exception is null ? string.Empty : " " + exception)));
    }
}
