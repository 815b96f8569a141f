using Microsoft.Extensions.DependencyInjection.Extensions;

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
        services.TryAddSingleton<EdgeImage>();
        return services;
    }
}
