using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Polly;

namespace StudentPerformance.Deployer.Registry;

/// <summary>Registers the registry port: options, the ECR or OCI implementation, its HttpClient and the "registry" pipeline.</summary>
public static class RegistryServiceCollectionExtensions
{
    /// <summary>The name of the HttpClient that registry calls use.</summary>
    public const string HttpClientName = "registry";

    /// <summary>
    /// Adds <see cref="IImageRegistry"/> (ECR or OCI, by <c>Deployer:Registry:Kind</c>), <see cref="RegistryOptions"/>,
    /// <see cref="ImageOptions"/> and the keyed pipeline <see cref="RegistryResilience.PipelineKey"/>. Services that are
    /// already registered (a TimeProvider, an <see cref="AwsIdentity"/>, an <see cref="IImageRegistry"/>) are kept.
    /// </summary>
    public static IServiceCollection AddImageRegistry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<AwsIdentity>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RegistryOptions>, RegistryOptionsValidator>());

        services.AddOptions<RegistryOptions>()
            .Bind(configuration.GetSection(RegistryOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<ImageOptions>()
            .Bind(configuration.GetSection(ImageOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Timeouts belong to the pipeline (per attempt), so the client itself never gives up first.
        services.AddHttpClient(HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
            });

        services.AddResiliencePipeline(RegistryResilience.PipelineKey, (builder, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<RegistryOptions>>().Value;
            var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RegistryResilience).FullName!);
            RegistryResilience.Configure(builder, options, context.ServiceProvider.GetRequiredService<TimeProvider>(), logger);
        });

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SignatureOptions>, SignatureOptionsValidator>());
        services.AddOptions<SignatureOptions>()
            .Bind(configuration.GetSection(SignatureOptions.SectionName))
            .ValidateOnStart();
        services.TryAddSingleton<IImageSignatureVerifier, ImageSignatureVerifier>();

        services.TryAddSingleton<IImageRegistry>(sp =>
            sp.GetRequiredService<IOptions<RegistryOptions>>().Value.Kind == RegistryKind.Oci
                ? ActivatorUtilities.CreateInstance<OciRegistry>(sp)
                : ActivatorUtilities.CreateInstance<EcrRegistry>(sp));
        return services;
    }
}
