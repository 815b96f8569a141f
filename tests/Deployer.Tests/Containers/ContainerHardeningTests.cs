using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Hosting;

namespace Deployer.Tests.Containers;

public class ContainerHardeningTests
{
    private const string Section = "Deployer:Container:Hardening";

    [Fact]
    public void Factory_Defaults_HardenTheManagedAndThePreflightSpec()
    {
        // Arrange
        var options = Bind([]);

        // Act
        var specs = new[]
        {
            ContainerSpecFactory.Managed(options, "127.0.0.1:5000/sp", "sha256:abc", "r1"),
            ContainerSpecFactory.Preflight(options, "127.0.0.1:5000/sp", "sha256:abc", "r1"),
        };

        // Assert
        foreach (var hardening in specs.Select(s => s.Hardening))
        {
            Assert.True(hardening.ReadOnlyRootFs);
            Assert.Equal(new Dictionary<string, string> { ["/tmp"] = "rw,noexec,nosuid,nodev,size=64m" }, hardening.Tmpfs);
            Assert.Equal(["ALL"], hardening.CapDrop);
            Assert.Empty(hardening.CapAdd);
            Assert.True(hardening.NoNewPrivileges);
            Assert.Equal(512, hardening.PidsLimit);
            Assert.Equal("json-file", hardening.LogDriver);
            Assert.Equal(new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" }, hardening.LogOptions);
        }
    }

    [Fact]
    public void Factory_EverySettingTurnedOffExplicitly_AsksForNothing()
    {
        // Arrange
        var options = Bind(new()
        {
            [$"{Section}:ReadOnlyRootFs"] = "false",
            [$"{Section}:Tmpfs"] = "none",
            [$"{Section}:CapDrop"] = "none",
            [$"{Section}:NoNewPrivileges"] = "false",
            [$"{Section}:PidsLimit"] = "0",
            [$"{Section}:Logging:Driver"] = "engine-default",
        });

        // Act
        var hardening = ContainerSpecFactory.Managed(options, "sp", "sha256:abc", "r1").Hardening;

        // Assert
        Assert.Empty(ContainerHardening.None.Differences(hardening));
        Assert.Empty(hardening.Tmpfs);
        Assert.Empty(hardening.CapDrop);
        Assert.Equal("", hardening.LogDriver);
    }

    [Fact]
    public void Bind_CapabilityListFromTheEnvironment_ReplacesTheDefault()
    {
        // Arrange: one variable each, as compose or systemd would set them.
        var settings = new Dictionary<string, string?>
        {
            [$"{Section}:CapDrop"] = "net_raw, CAP_SYS_ADMIN",
            [$"{Section}:CapAdd"] = "NET_BIND_SERVICE",
        };

        // Act
        var hardening = ContainerSpecFactory.Hardening(Bind(settings));

        // Assert: not appended to ALL, and spelled the engine's way.
        Assert.Equal(["NET_RAW", "SYS_ADMIN"], hardening.CapDrop);
        Assert.Equal(["NET_BIND_SERVICE"], hardening.CapAdd);
    }

    [Fact]
    public void Bind_EmptyJsonArrayForCapDrop_IsRefusedNotTakenAsOff()
    {
        // Arrange: an empty array is what someone who wants "no caps dropped" may write; it must not mean that.
        const string Json = """{"Deployer":{"Container":{"Hardening":{"CapDrop":[]}}}}""";

        // Act
        var error = Assert.Throws<OptionsValidationException>(() => BindJson(Json));

        // Assert
        Assert.Contains($"{Section}:CapDrop is empty", error.Message, StringComparison.Ordinal);
        Assert.Contains("'none'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CapDrop", "", "Deployer:Container:Hardening:CapDrop")]
    [InlineData("CapDrop", " , ", "Deployer:Container:Hardening:CapDrop")]
    [InlineData("CapAdd", "", "Deployer:Container:Hardening:CapAdd")]
    [InlineData("CapAdd", "NET_BIND_SERVIC", "Deployer:Container:Hardening:CapAdd")]
    [InlineData("CapDrop", "ALL,NET_RAW", "Deployer:Container:Hardening:CapDrop")]
    [InlineData("Tmpfs", "", "Deployer:Container:Hardening:Tmpfs")]
    [InlineData("Tmpfs", "tmp", "Deployer:Container:Hardening:Tmpfs")]
    [InlineData("Tmpfs", "/tmp:exec", "Deployer:Container:Hardening:Tmpfs")]
    [InlineData("TmpfsSizeMiB", "0", "Deployer:Container:Hardening:TmpfsSizeMiB")]
    [InlineData("PidsLimit", "-1", "Deployer:Container:Hardening:PidsLimit")]
    [InlineData("Logging:Driver", "syslog", "Deployer:Container:Hardening:Logging:Driver")]
    [InlineData("Logging:Driver", "", "Deployer:Container:Hardening:Logging:Driver")]
    [InlineData("Logging:MaxSize", "10", "Deployer:Container:Hardening:Logging:MaxSize")]
    [InlineData("Logging:MaxSize", "0m", "Deployer:Container:Hardening:Logging:MaxSize")]
    [InlineData("Logging:MaxSize", "", "Deployer:Container:Hardening:Logging:MaxSize")]
    [InlineData("Logging:MaxFile", "0", "Deployer:Container:Hardening:Logging:MaxFile")]
    public void Validate_BadSetting_StopsTheStartNamingTheKey(string key, string value, string named)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind(new() { [$"{Section}:{key}"] = value }));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CapDrop", "NONE")]
    [InlineData("CapAdd", "NET_BIND_SERVICE,SYS_NICE")]
    [InlineData("Tmpfs", "/tmp,/var/run/haproxy")]
    [InlineData("Logging:Driver", "local")]
    [InlineData("Logging:MaxSize", "512k")]
    public void Validate_GoodSetting_Succeeds(string key, string value)
    {
        var options = Bind(new() { [$"{Section}:{key}"] = value });

        Assert.NotNull(ContainerSpecFactory.Hardening(options));
    }

    [Fact]
    public void Differences_EngineSpellings_CountAsTheSame()
    {
        // Arrange: what compose 1.29 or an older engine may report for the same settings.
        var reported = ContainerHardening.Default with
        {
            CapDrop = ["all"],
            Tmpfs = new Dictionary<string, string> { ["/tmp"] = "size=64m,rw,nodev,nosuid,noexec" },
        };

        // Act
        var differences = ContainerHardening.Default.Differences(reported);

        // Assert
        Assert.Empty(differences);
        Assert.True(ContainerHardening.IsNoNewPrivileges("no-new-privileges"));
        Assert.Equal("NET_RAW", ContainerHardening.NormalizeCapability("cap_net_raw"));
    }

    [Fact]
    public void Differences_UnhardenedContainer_NamesEachMissingSetting()
    {
        // Arrange: `docker run` without flags, on an engine whose default driver is json-file without rotation.
        var plain = ContainerHardening.None with { LogDriver = "json-file" };

        // Act
        var differences = ContainerHardening.Default.Differences(plain);

        // Assert
        Assert.Equal(
            [
                $"{Section}:ReadOnlyRootFs", $"{Section}:Tmpfs", $"{Section}:CapDrop", $"{Section}:NoNewPrivileges",
                $"{Section}:PidsLimit", $"{Section}:Logging",
            ],
            differences);
    }

    [Fact]
    public void Differences_OtherRotation_IsADifference()
    {
        var configured = ContainerHardening.Default;
        var reported = configured with { LogOptions = new Dictionary<string, string> { ["max-size"] = "100m", ["max-file"] = "3" } };

        Assert.Equal([$"{Section}:Logging"], configured.Differences(reported));
    }

    private static ContainerSpecOptions Bind(Dictionary<string, string?> settings) =>
        Resolve(builder => builder.Configuration.AddInMemoryCollection(settings));

    private static ContainerSpecOptions BindJson(string json) =>
        Resolve(builder => builder.Configuration.AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))));

    private static ContainerSpecOptions Resolve(Action<HostApplicationBuilder> configure)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        configure(builder);
        builder.Services.AddOptions<ContainerSpecOptions>().BindConfiguration(ContainerSpecOptions.SectionName).ValidateDataAnnotations();
        builder.Services.AddSingleton<IValidateOptions<ContainerSpecOptions>, DeployerOptionsValidator>();
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptions<ContainerSpecOptions>>().Value;
    }
}
