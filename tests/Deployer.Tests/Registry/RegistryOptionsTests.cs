using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Registry;

namespace Deployer.Tests.Registry;

public sealed class RegistryOptionsTests
{
    [Theory]
    [InlineData("Deployer:Registry:Endpoint", "not a url", "Deployer:Registry:Endpoint must be an absolute http(s) URL")]
    [InlineData("Deployer:Registry:Endpoint", "ftp://127.0.0.1:5000", "Deployer:Registry:Endpoint must be an absolute http(s) URL")]
    [InlineData("Deployer:Registry:Region", "Mars", "Deployer:Registry:Region must be an AWS region name")]
    [InlineData("Deployer:Registry:RegistryId", "12345", "Deployer:Registry:RegistryId must be a 12-digit AWS account id")]
    [InlineData("Deployer:Registry:RequestTimeout", "00:00:00", "Deployer:Registry:RequestTimeout must be between")]
    [InlineData("Deployer:Registry:MaxRetryAttempts", "99", "Deployer:Registry:MaxRetryAttempts must be between")]
    [InlineData("Deployer:Image:Repository", "Student Performance", "Deployer:Image:Repository must be a lowercase repository path")]
    [InlineData("Deployer:Image:Tag", "-latest", "Deployer:Image:Tag must match")]
    public async Task ValidateOnStart_BadValue_FailsNamingTheKey(string key, string value, string expected)
    {
        // Arrange
        await using var host = RegistryTestHost.Create(new Dictionary<string, string?> { [key] = value });

        // Act
        var error = Assert.ThrowsAny<Exception>(() => host.Services.GetRequiredService<IStartupValidator>().Validate());

        // Assert
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateOnStart_OciWithoutEndpoint_FailsNamingBothKeys()
    {
        // Arrange
        await using var host = RegistryTestHost.Create(new Dictionary<string, string?> { ["Deployer:Registry:Kind"] = "Oci" });

        // Act
        var error = Assert.ThrowsAny<Exception>(() => host.Services.GetRequiredService<IStartupValidator>().Validate());

        // Assert
        Assert.Contains("Deployer:Registry:Endpoint is required when Deployer:Registry:Kind is Oci", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateOnStart_UnknownKind_FailsNamingTheKey()
    {
        // Arrange
        await using var host = RegistryTestHost.Create(new Dictionary<string, string?> { ["Deployer:Registry:Kind"] = "Quay" });

        // Act
        var error = Assert.ThrowsAny<Exception>(() => host.Services.GetRequiredService<IStartupValidator>().Validate());

        // Assert
        Assert.Contains("Deployer:Registry:Kind", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddImageRegistry_NoSettings_UsesIssueDefaults()
    {
        // Arrange
        await using var host = RegistryTestHost.Create(new Dictionary<string, string?>());

        // Act
        host.Services.GetRequiredService<IStartupValidator>().Validate();
        var registry = host.Services.GetRequiredService<IOptions<RegistryOptions>>().Value;
        var image = host.Services.GetRequiredService<IOptions<ImageOptions>>().Value;

        // Assert
        Assert.Equal(RegistryKind.Ecr, registry.Kind);
        Assert.Equal("student-performance", image.Repository);
        Assert.Equal("latest", image.Tag);
        Assert.IsType<EcrRegistry>(host.Registry);
    }

    [Fact]
    public async Task AddImageRegistry_OciKind_RegistersOciRegistryWithEndpointHostAsImageName()
    {
        // Arrange
        await using var host = RegistryTestHost.ForOci(new Uri("http://127.0.0.1:5000"), "team/student-performance");

        // Act
        var registry = host.Registry;

        // Assert
        Assert.IsType<OciRegistry>(registry);
        Assert.Equal("127.0.0.1:5000/team/student-performance", registry.ImageName);
    }
}
