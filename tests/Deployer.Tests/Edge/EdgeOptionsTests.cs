using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Edge;

namespace Deployer.Tests.Edge;

public sealed class EdgeOptionsTests
{
    [Theory]
    [InlineData("RuntimeApi", "0.0.0.0:9999", "Deployer:Edge:RuntimeApi")]
    [InlineData("DrainTimeout", "00:00:00", "Deployer:Edge:DrainTimeout")]
    [InlineData("Image", "", "Deployer:Edge:Image")]
    [InlineData("ReadyPath", "readyz", "Deployer:Edge:ReadyPath")]
    [InlineData("SlotNetwork", "no spaces", "Deployer:Edge:SlotNetwork")]
    public void AddEdgeProxy_BadSetting_FailsAtStartNamingTheKey(string key, string value, string expected)
    {
        using var provider = Provider(new Dictionary<string, string?> { [$"Deployer:Edge:{key}"] = value });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EdgeOptions>>().Value);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddEdgeProxy_Defaults_AreValidAndLayOutBothRoutes()
    {
        using var provider = Provider([]);

        var options = provider.GetRequiredService<IOptions<EdgeOptions>>().Value;
        var layout = EdgeLayout.Create(
            [new("0.0.0.0", 8000, 8000), new("0.0.0.0", 8080, 8080)], 8000, options, EdgeSlot.Blue);

        Assert.Equal([EdgeProtocol.Grpc, EdgeProtocol.Http], layout.Routes.Select(r => r.Protocol));
        Assert.IsType<HaproxyEdgeProxy>(provider.GetRequiredService<IEdgeProxy>());
    }

    private static ServiceProvider Provider(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddEdgeProxy()
            .BuildServiceProvider();
    }
}
