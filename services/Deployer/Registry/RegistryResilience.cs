using System.Net.Sockets;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace StudentPerformance.Deployer.Registry;

/// <summary>
/// The keyed "registry" pipeline: retry (exponential backoff with jitter) around a circuit breaker around a
/// per-attempt timeout. Only transient failures are retried or counted by the breaker; a refused credential or
/// a malformed answer fails at once.
/// </summary>
public static class RegistryResilience
{
    /// <summary>The key of the pipeline in <see cref="Polly.Registry.ResiliencePipelineProvider{TKey}"/>.</summary>
    public const string PipelineKey = "registry";

    /// <summary>True for failures a later attempt may not see: 5xx, 429, timeouts, refused or reset connections.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        RegistryException e => e.IsTransient,
        HttpRequestException => true,
        TimeoutRejectedException => true,
        SocketException => true,
        IOException => true,
        _ => false,
    };

    internal static void Configure(ResiliencePipelineBuilder builder, RegistryOptions options, TimeProvider timeProvider, ILogger logger)
    {
        builder.TimeProvider = timeProvider;
        var shouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient);

        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = shouldHandle,
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = TimeSpan.FromSeconds(30),
                OnRetry = args =>
                {
                    Log.RegistryRetry(logger, Describe(args.Outcome.Exception), args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            });
        }

        // Two failed polls within two minutes open the circuit (a poll is one attempt plus its retries), so a long
        // outage costs one probe per poll instead of a full retry ladder. Polls slower than that never hammer anyway.
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = shouldHandle,
            FailureRatio = 0.5,
            MinimumThroughput = 2 * (options.MaxRetryAttempts + 1),
            SamplingDuration = TimeSpan.FromMinutes(2),
            BreakDuration = options.BreakDuration,
            OnOpened = args =>
            {
                Log.RegistryCircuitOpened(logger, args.BreakDuration, Describe(args.Outcome.Exception));
                return ValueTask.CompletedTask;
            },
            OnClosed = _ =>
            {
                Log.RegistryCircuitClosed(logger);
                return ValueTask.CompletedTask;
            },
        });

        builder.AddTimeout(options.RequestTimeout);
    }

    // The exception type and status only: messages of lower layers may echo URLs with query strings.
    private static string Describe(Exception? exception) => exception switch
    {
        null => "no exception",
        RegistryException { StatusCode: { } status } => $"HTTP {status}",
        HttpRequestException { HttpRequestError: var error } => $"connection: {error}",
        TimeoutRejectedException => "timed out",
        _ => exception.GetType().Name,
    };
}
