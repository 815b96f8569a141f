using System.Globalization;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using StudentPerformance.Predictor.Grpc;
using StudentPerformance.Predictor.Health;
using StudentPerformance.Predictor.Shadow;

namespace StudentPerformance.Predictor.Hosting;

/// <summary>The predictor's composition: options, model start-up, the gRPC service, health and reflection.</summary>
public static partial class PredictorHostingExtensions
{
    private static readonly PathString PredictorPath = "/" + StudentPerformance.V1.Predictor.Descriptor.FullName;

    /// <summary>Registers the predictor. Defaults go in with TryAdd, so a host (or a test) may replace them first.</summary>
    public static WebApplicationBuilder AddPredictor(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddOptions<PredictorOptions>()
            .BindConfiguration(PredictorOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddOptions<ShadowOptions>()
            .BindConfiguration(ShadowOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // HostOptions and the gRPC limits are built before ValidateOnStart runs (mapping the service reads them),
        // so they take raw values that parse and leave a bad value to the validation, which names the key.
        var defaults = new PredictorOptions();
        services.AddOptions<HostOptions>().Configure<IConfiguration>((host, configuration) =>
            host.ShutdownTimeout = Lenient(configuration, nameof(PredictorOptions.DrainTimeout), defaults.DrainTimeout));

        // appsettings.json gives the one-line console format a timestamp ending in a space (the simple formatter
        // writes the level right after it). The same FormatterOptions feed the JSON formatter, which must not
        // carry that space into its Timestamp field.
        services.PostConfigure<JsonConsoleFormatterOptions>(json => json.TimestampFormat = json.TimestampFormat?.TrimEnd());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IModelSource, FileModelSource>();
        services.TryAddSingleton<ServingState>();
        services.TryAddSingleton<InputSample>();
        services.TryAddSingleton<PredictorService>();
        services.TryAddSingleton<ModelStartup>();
        services.AddHostedService(sp => sp.GetRequiredService<ModelStartup>());

        services.AddGrpc();
        services.AddOptions<GrpcServiceOptions>()
            .Configure<IConfiguration>((grpc, configuration) =>
            {
                grpc.MaxReceiveMessageSize = Lenient(configuration, nameof(PredictorOptions.MaxReceiveMessageSize), defaults.MaxReceiveMessageSize);
                grpc.MaxSendMessageSize = Lenient(configuration, nameof(PredictorOptions.MaxSendMessageSize), defaults.MaxSendMessageSize);
                grpc.EnableDetailedErrors = false;
            });
        services.AddGrpcReflection();

        // Watch calls end with NOT_SERVING when shutdown begins (SuppressCompletionOnShutdown stays false), so an
        // open watcher never holds the drain for its whole length.
        services.AddGrpcHealthChecks(health =>
            {
                foreach (var name in ServingState.HealthServiceNames)
                {
                    health.Services.Map(name, check => check.Tags.Contains(ModelReadinessCheck.ReadyTag));
                }
            })
            .AddCheck<ModelReadinessCheck>(ModelReadinessCheck.Name, tags: [ModelReadinessCheck.ReadyTag]);

        // ServingState pushes every transition into the health service the moment it happens. The periodic
        // publisher would only repeat it late, and a report computed just before shutdown could land after it
        // and flip watchers back to SERVING. Check still runs the readiness check live.
        RemovePublisher(services, "Grpc.AspNetCore.HealthChecks.GrpcHealthChecksPublisher");

        return builder;
    }

    /// <summary>Maps the Predictor service, grpc.health.v1 and reflection.</summary>
    public static WebApplication MapPredictor(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // gRPC activates the service through HttpContext.RequestServices, and the first read of that property
        // creates a DI scope for the call. Everything a Predictor call touches is a singleton, so native gRPC calls
        // get the root provider and no scope is made.
        var root = app.Services;
        app.UseErrorAnswerDrain();
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(PredictorPath, StringComparison.Ordinal))
            {
                context.RequestServices = root;
            }

            return next(context);
        });

        app.MapGrpcService<PredictorService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }

    /// <summary>
    /// Runs until shutdown and returns the exit code: 0 after a clean stop, 1 when the model could not be served
    /// or the configuration is invalid (one log line naming the key).
    /// </summary>
    public static async Task<int> RunPredictorAsync(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var startup = app.Services.GetRequiredService<ModelStartup>();
        try
        {
            await app.RunAsync().ConfigureAwait(false);
        }
        catch (OptionsValidationException ex)
        {
            Log.ConfigurationInvalid(app.Logger, string.Join("; ", ex.Failures).TrimEnd('.'));
            return 1;
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
        {
            Log.ConfigurationInvalid(app.Logger, ex.Message.TrimEnd('.'));
            return 1;
        }

        return startup.ExitCode;
    }

    private static T Lenient<T>(IConfiguration configuration, string key, T fallback)
        where T : struct, IParsable<T>, IComparable<T> =>
        T.TryParse(configuration[$"{PredictorOptions.SectionName}:{key}"], CultureInfo.InvariantCulture, out var value)
            && value.CompareTo(default) >= 0
            ? value
            : fallback;

    private static void RemovePublisher(IServiceCollection services, string implementationTypeName)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(IHealthCheckPublisher)
                && services[i].ImplementationType?.FullName == implementationTypeName)
            {
                services.RemoveAt(i);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Critical, "Invalid configuration: {Problem}. Exiting.")]
        public static partial void ConfigurationInvalid(ILogger logger, string problem);
    }
}
