using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Hosting;

namespace Deployer.Tests.Hosting;

public class DeployerOptionsValidatorTests
{
    [Fact]
    public void Validate_Defaults_Succeed()
    {
        var options = Bind(new Dictionary<string, string?>());

        Assert.Equal("predictor", options.Container.Name);
        Assert.Equal(TimeSpan.FromSeconds(30), options.PollInterval);
        Assert.True(options.Preflight.Enabled);
    }

    [Theory]
    [InlineData("Deployer:Container:Ports:0", "8000", "Deployer:Container:Ports:0")]
    [InlineData("Deployer:Container:Name", "bad name!", "Deployer:Container:Name")]
    [InlineData("Deployer:Container:RestartPolicy", "sometimes", "Deployer:Container:RestartPolicy")]
    [InlineData("Deployer:Preflight:GoldenRequest", "{not json", "Deployer:Preflight:GoldenRequest")]
    [InlineData("Deployer:Admin:Url", "https://127.0.0.1:9090", "Deployer:Admin:Url")]
    [InlineData("Deployer:Disk:KeepImages", "0", "Deployer:Disk:KeepImages")]
    [InlineData("Deployer:HealthGate:StableFor", "00:05:00", "Deployer:HealthGate:StableFor")]
    [InlineData("Deployer:Docker:Endpoint", "not a uri", "Deployer:Docker:Endpoint")]
    [InlineData("Deployer:Container:GrpcPort", "9000", "Deployer:Container:GrpcPort")]
    public void Validate_BadValue_NamesTheKey(string key, string value, string named)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind(new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_PollIntervalZero_NamesTheMember()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind(new Dictionary<string, string?> { ["Deployer:PollInterval"] = "00:00:00" }));

        Assert.Contains("PollInterval", error.Message, StringComparison.Ordinal);
    }

    private static DeployerOptions Bind(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddOptions<DeployerOptions>()
            .BindConfiguration(DeployerOptions.SectionName)
            .ValidateDataAnnotations();
        builder.Services.AddSingleton<IValidateOptions<DeployerOptions>, DeployerOptionsValidator>();
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptions<DeployerOptions>>().Value;
    }
}
