using Amazon;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Fleet;

public static class FleetServiceCollectionExtensions
{
    /// <summary>
    /// Binds <c>Deployer:Fleet</c> and registers the gate: the DynamoDB coordinator when it is enabled, otherwise the
    /// single-host gate that clears every digest at once. <see cref="IFleetEvents"/> comes from the caller.
    /// </summary>
    public static IServiceCollection AddFleet(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FleetOptions>()
            .BindConfiguration(FleetOptions.SectionName)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FleetOptions>, FleetOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(HostIdentity.HttpClientName);
        services.TryAddSingleton<IHostIdentity, HostIdentity>();
        services.TryAddSingleton<IAmazonDynamoDB>(sp => CreateClient(sp.GetRequiredService<IOptions<FleetOptions>>().Value));
        services.TryAddSingleton<IFleetStore, DynamoDbFleetStore>();
        if (configuration.GetValue<bool>($"{FleetOptions.SectionName}:{nameof(FleetOptions.Enabled)}"))
        {
            services.TryAddSingleton<IFleetGate, FleetCoordinator>();
        }
        else
        {
            services.TryAddSingleton<IFleetGate, SingleHostGate>();
        }

        return services;
    }

    /// <summary>
    /// The DynamoDB client: the SDK's default credential chain (the instance role on a host); one retry only, since
    /// each call already has <c>Deployer:Fleet:CallTimeout</c> and the next poll asks again.
    /// </summary>
    public static AmazonDynamoDBClient CreateClient(FleetOptions options, AWSCredentials? credentials = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new AmazonDynamoDBConfig
        {
            MaxErrorRetry = 1,
            Timeout = options.CallTimeout,
        };
        if (options.ServiceUrl.Length > 0)
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region.Length > 0 ? options.Region : "us-east-1";
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        return credentials is null ? new AmazonDynamoDBClient(config) : new AmazonDynamoDBClient(credentials, config);
    }
}
