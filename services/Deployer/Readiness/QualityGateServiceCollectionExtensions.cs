using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Readiness;

public static class QualityGateServiceCollectionExtensions
{
    /// <summary>
    /// Binds <c>Deployer:QualityGate</c>, reads the golden set at start and registers the gate; binds
    /// <c>Deployer:ShadowGate</c> and registers the shadow step's replay.
    /// </summary>
    public static IServiceCollection AddQualityGate(this IServiceCollection services)
    {
        services.AddOptions<QualityGateOptions>()
            .BindConfiguration(QualityGateOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QualityGateOptions>, QualityGateOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GoldenSetCache>();
        services.TryAddSingleton<QualityGateHistory>();
        services.TryAddSingleton<QualityGate>();

        services.AddOptions<ShadowGateOptions>()
            .BindConfiguration(ShadowGateOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<ShadowGate>();
        return services;
    }
}
