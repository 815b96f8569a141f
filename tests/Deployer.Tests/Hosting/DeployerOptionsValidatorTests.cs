using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Hosting;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Hosting;

public class DeployerOptionsValidatorTests
{
    [Fact]
    public async Task Validate_Defaults_Succeed()
    {
        using var host = Build(new Dictionary<string, string?>());

        await host.StartAsync();

        Assert.Equal("predictor", host.Services.GetRequiredService<IOptions<ContainerSpecOptions>>().Value.Name);
        Assert.Equal(TimeSpan.FromSeconds(30), host.Services.GetRequiredService<IOptions<DeployerOptions>>().Value.PollInterval);
        Assert.True(host.Services.GetRequiredService<IOptions<PreflightOptions>>().Value.Enabled);
        await host.StopAsync();
    }

    [Fact]
    public void Bind_SectionKeys_ReachTheirOptionsClasses()
    {
        using var host = Build(new Dictionary<string, string?>
        {
            ["Deployer:Mode"] = "Monitor",
            ["Deployer:Container:Ports:0"] = "127.0.0.1:8001:8000",
            ["Deployer:HealthGate:StableFor"] = "00:00:03",
            ["Deployer:Disk:DataRootPath"] = "/data",
            ["Deployer:Admin:Url"] = "http://127.0.0.1:9999",
        });

        Assert.Equal(DeployerMode.Monitor, host.Services.GetRequiredService<IOptions<DeployerOptions>>().Value.Mode);
        Assert.Equal(["127.0.0.1:8001:8000"], host.Services.GetRequiredService<IOptions<ContainerSpecOptions>>().Value.Ports);
        Assert.Equal(TimeSpan.FromSeconds(3), host.Services.GetRequiredService<IOptions<HealthGateOptions>>().Value.StableFor);
        Assert.Equal("/data", host.Services.GetRequiredService<IOptions<DiskGuardOptions>>().Value.DataRootPath);
        Assert.Equal("http://127.0.0.1:9999", host.Services.GetRequiredService<IOptions<StudentPerformance.Deployer.Admin.AdminOptions>>().Value.Url);
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
    [InlineData("Deployer:Webhook:Url", "ftp://hooks", "Deployer:Webhook:Url")]
    [InlineData("Deployer:StateDirectory", " ", "Deployer:StateDirectory")]
    [InlineData("Deployer:HealthGate:BakeTime", "-00:00:01", "Deployer:HealthGate:BakeTime")]
    [InlineData("Deployer:CrashLoop:MaxRestarts", "0", "Deployer:CrashLoop:MaxRestarts")]
    [InlineData("Deployer:CrashLoop:Window", "00:00:00", "Deployer:CrashLoop:Window")]
    public async Task Validate_BadValue_StopsTheStartAndNamesTheKey(string key, string value, string named)
    {
        using var host = Build(new Dictionary<string, string?> { [key] = value });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_BlueGreenWithAPublicPortNoSlotPublishes_NamesTheSlotKey()
    {
        using var host = Build(new Dictionary<string, string?>
        {
            ["Deployer:Strategy"] = "BlueGreen",
            ["Deployer:Container:Ports:0"] = "8000:8000",
            ["Deployer:Container:Ports:1"] = "9000:9000",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Deployer:Edge:BluePorts has no loopback port for container port 9000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_BlueGreenWithASlotSubnetTooSmall_NamesTheKey()
    {
        using var host = Build(new Dictionary<string, string?>
        {
            ["Deployer:Strategy"] = "BlueGreen",
            ["Deployer:Container:Ports:0"] = "8000:8000",
            ["Deployer:Edge:SlotSubnet"] = "10.213.47.0/30",
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Deployer:Edge:SlotSubnet '10.213.47.0/30'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_RecreateIgnoresTheEdgeLayout_AndSlotPortsFromConfigurationReplaceTheDefaults()
    {
        using var host = Build(new Dictionary<string, string?>
        {
            ["Deployer:Container:Ports:0"] = "8000:8000",
            ["Deployer:Container:Ports:1"] = "9000:9000",
            ["Deployer:Edge:BluePorts:0"] = "19000:8000",
            ["Deployer:Edge:BluePorts:1"] = "19080:8080",
        });

        await host.StartAsync();

        var edge = host.Services.GetRequiredService<IOptions<StudentPerformance.Deployer.Edge.EdgeOptions>>().Value;
        Assert.Equal(["19000:8000", "19080:8080"], edge.EffectiveBluePorts);
        Assert.Equal(StudentPerformance.Deployer.Edge.EdgeOptions.DefaultGreenPorts, edge.EffectiveGreenPorts);
        await host.StopAsync();
    }

    [Fact]
    public async Task Validate_PollIntervalZero_NamesTheMember()
    {
        using var host = Build(new Dictionary<string, string?> { ["Deployer:PollInterval"] = "00:00:00" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("PollInterval", error.Message, StringComparison.Ordinal);
    }

    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddLogging();
        builder.Services.AddDeployerOptions();
        return builder.Build();
    }
}
