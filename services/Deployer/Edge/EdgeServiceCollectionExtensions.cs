using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Edge;

public static class EdgeServiceCollectionExtensions
{
    /// <summary>Binds <c>Deployer:Edge</c> (validated at start) and registers the HAProxy edge as <see cref="IEdgeProxy"/>.</summary>
    public static IServiceCollection AddEdgeProxy(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<EdgeOptions>()
            .BindConfiguration(EdgeOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<IEdgeProxy, HaproxyEdgeProxy>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EdgeOptions>, EdgeTlsOptionsValidator>());
        services.TryAddSingleton<EdgeImage>();
        services.TryAddSingleton<Readiness.PinnedCertificates>();
        services.TryAddSingleton<EdgeTls>();
        return services;
    }
}
