using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using StudentPerformance.Deployer.Admin;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Fleet;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.Deployer.Registry;
using StudentPerformance.Deployer.Rollout;

namespace StudentPerformance.Deployer.Hosting;

/// <summary>The deployer's composition: options, the registry, the engine, the plan, the loop and the admin API.</summary>
public static class DeployerHostExtensions
{
    /// <summary>Builds the deployer application; tests call this with their own configuration.</summary>
    public static WebApplication BuildDeployer(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // appsettings.json sits beside the executable; a systemd unit or a shell may start it from anywhere.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        configure?.Invoke(builder);
        builder.AddDeployer();
        var app = builder.Build();
        // The token file is read (or created) now, so that a bad one stops the start and names the key.
        app.Services.GetRequiredService<AdminToken>();
        app.UseAdminRequestGuard();
        app.MapDeployerAdmin();
        return app;
    }

    public static IHostApplicationBuilder AddDeployer(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddDeployerOptions();

        // Kestrel serves only the admin endpoint, on the configured (loopback by default) URL.
        if (builder is WebApplicationBuilder web)
        {
            web.WebHost.UseUrls(builder.Configuration[$"{AdminOptions.SectionName}:{nameof(AdminOptions.Url)}"] ?? new AdminOptions().Url);
        }

        services.AddSystemd();
        services.TryAddSingleton(TimeProvider.System);
        services.AddImageRegistry(builder.Configuration);
        services.AddDockerPipelines();
        services.TryAddSingleton<IContainerRuntime, DockerContainerRuntime>();
        services.TryAddSingleton<PinnedCertificates>();
        services.TryAddSingleton<IPredictorProbe, GrpcPredictorProbe>();
        services.AddHttpClient(RolloutNotifier.HttpClientName);

        services.TryAddSingleton<DeployerMetrics>();
        services.TryAddSingleton<StateStore>();
        services.TryAddSingleton(sp => new DeployerStatus(
            $"{sp.GetRequiredService<IImageRegistry>().ImageName}:{sp.GetRequiredService<IOptions<ImageOptions>>().Value.Tag}",
            sp.GetRequiredService<IOptions<DeployerOptions>>().Value.Mode.ToString()));
        services.TryAddSingleton<RolloutNotifier>();
        services.TryAddSingleton<IFleetEvents>(sp => sp.GetRequiredService<RolloutNotifier>());
        services.AddFleet(builder.Configuration);
        services.AddQualityGate();
        services.TryAddSingleton<QualityGateStep>();
        services.TryAddSingleton<ShadowGateStep>();
        services.TryAddSingleton<RolloutSteps>();
        services.TryAddSingleton<RolloutPlan>();
        services.TryAddSingleton<BlueGreenSlots>();
        services.TryAddSingleton<EdgeUpkeep>();
        services.TryAddSingleton<BlueGreenPlan>();
        services.TryAddSingleton<BlueGreenReconciler>();
        services.TryAddSingleton<BlueGreenStrategy>();
        services.TryAddSingleton<IRolloutStrategy>(sp => sp.GetRequiredService<IOptions<DeployerOptions>>().Value.Strategy == RolloutStrategy.BlueGreen
            ? sp.GetRequiredService<BlueGreenStrategy>()
            : sp.GetRequiredService<RolloutPlan>());
        services.TryAddSingleton<LiveWatch>();
        services.TryAddSingleton<DeployerWorker>();
        services.TryAddSingleton<AdminToken>();
        services.TryAddSingleton<StatusReport>();

        // The lock is taken before the worker starts, so a second instance stops before touching anything.
        services.AddHostedService<HostLock>();
        services.AddHostedService(sp => sp.GetRequiredService<DeployerWorker>());
        return builder;
    }

    /// <summary>
    /// Binds every section the deployer reads (<c>Deployer</c>, <c>Deployer:Container</c>, …) to its options class,
    /// each validated at start by <see cref="DeployerOptionsValidator"/>, so a bad key stops the process and is named.
    /// </summary>
    public static IServiceCollection AddDeployerOptions(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddValidatedOptions<DeployerOptions>(DeployerOptions.SectionName);
        services.AddValidatedOptions<ContainerSpecOptions>(ContainerSpecOptions.SectionName);
        services.AddValidatedOptions<DockerOptions>(DockerOptions.SectionName);
        services.AddValidatedOptions<DiskGuardOptions>(DiskGuardOptions.SectionName);
        services.AddValidatedOptions<PreflightOptions>(PreflightOptions.SectionName);
        services.AddValidatedOptions<HealthGateOptions>(HealthGateOptions.SectionName);
        services.AddValidatedOptions<CrashLoopOptions>(CrashLoopOptions.SectionName);
        services.AddValidatedOptions<WebhookOptions>(WebhookOptions.SectionName);
        services.AddValidatedOptions<AdminOptions>(AdminOptions.SectionName);
        // Deployer:Edge is bound and checked under every strategy; its layout only matters (and is checked) under BlueGreen.
        services.AddEdgeProxy();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EdgeOptions>, EdgeLayoutValidator>());
        return services;
    }

    private static void AddValidatedOptions<T>(this IServiceCollection services, string section)
        where T : class
    {
        services.AddOptions<T>()
            .BindConfiguration(section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton(typeof(IValidateOptions<T>), typeof(DeployerOptionsValidator)));
    }

    /// <summary>
    /// The keyed "docker" pipelines: each attempt has a timeout; connection failures, 5xx and timeouts are
    /// retried with exponential backoff and jitter. A pull gets a long per-attempt timeout of its own.
    /// </summary>
    private static IServiceCollection AddDockerPipelines(this IServiceCollection services)
    {
        services.AddResiliencePipeline(DockerContainerRuntime.PipelineKey, (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<DockerOptions>>().Value;
            AddRetry(pipeline, context);
            pipeline.AddTimeout(options.CallTimeout);
        });
        services.AddResiliencePipeline(DockerContainerRuntime.PullPipelineKey, (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<DockerOptions>>().Value;
            AddRetry(pipeline, context);
            pipeline.AddTimeout(options.PullTimeout);
        });
        return services;
    }

    private static void AddRetry(ResiliencePipelineBuilder pipeline, Polly.DependencyInjection.AddResiliencePipelineContext<string> context)
    {
        var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("StudentPerformance.Deployer.Docker");
        pipeline.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder()
                .Handle<ContainerRuntimeException>(ex => ex.IsTransient)
                .Handle<TimeoutRejectedException>(),
            MaxRetryAttempts = 3,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(500),
            OnRetry = args =>
            {
                Log.DockerRetry(logger, args.Outcome.Exception?.Message ?? "no answer", args.AttemptNumber + 1, args.RetryDelay);
                return ValueTask.CompletedTask;
            },
        });
    }
}
