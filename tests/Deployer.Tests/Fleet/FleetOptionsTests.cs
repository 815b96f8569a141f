using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Fleet;

namespace Deployer.Tests.Fleet;

public class FleetOptionsTests
{
    [Fact]
    public void Validate_Disabled_AcceptsAnything()
    {
        var result = new FleetOptionsValidator().Validate(null, new FleetOptions { Table = "", RenewInterval = TimeSpan.Zero });

        Assert.True(result.Succeeded);
    }

    [Theory]
    [InlineData("Table", "", "", "Deployer:Fleet:Table must name")]
    [InlineData("Table", "a b", "", "Deployer:Fleet:Table ('a b') is not a DynamoDB table name")]
    [InlineData("Region", "", "", "Deployer:Fleet:Region must name")]
    [InlineData("ServiceUrl", "not a url", "", "Deployer:Fleet:ServiceUrl ('not a url') must be an absolute http(s) URL")]
    [InlineData("RenewInterval", "00:01:30", "", "Deployer:Fleet:RenewInterval (00:01:30) must be positive and at most half of Deployer:Fleet:LeaseDuration")]
    [InlineData("CallTimeout", "00:00:30", "", "Deployer:Fleet:CallTimeout (00:00:30) must be positive and below Deployer:Fleet:RenewInterval")]
    [InlineData("MetadataUrl", "ftp://x", "", "Deployer:Fleet:MetadataUrl ('ftp://x') must be an absolute http(s) URL")]
    public void Validate_BadKey_NamesIt(string key, string value, string hostId, string expected)
    {
        var options = new FleetOptions { Enabled = true, Table = "fleet", Region = "eu-west-1", HostId = hostId };
        switch (key)
        {
            case "Table": options.Table = value; break;
            case "Region": options.Region = value; break;
            case "ServiceUrl": options.ServiceUrl = value; break;
            case "RenewInterval": options.RenewInterval = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "CallTimeout": options.CallTimeout = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "MetadataUrl": options.MetadataUrl = value; break;
        }

        var result = new FleetOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Defaults_AreValidOnceEnabled()
    {
        var result = new FleetOptionsValidator().Validate(null, new FleetOptions { Enabled = true, Table = "fleet", Region = "eu-west-1" });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public async Task GetHostId_ExplicitHostId_WinsWithoutAskingTheMetadataService()
    {
        var clients = new CountingClients();
        using var identity = new HostIdentity(clients, Options.Create(new FleetOptions { HostId = "host-7", MetadataUrl = "http://127.0.0.1:9" }));

        var id = await identity.GetHostIdAsync(CancellationToken.None);

        Assert.Equal("host-7", id);
        Assert.Equal(0, clients.Created);
    }

    [Fact]
    public async Task GetHostId_NoHostIdAndNoMetadataService_FailsNamingTheKey()
    {
        using var identity = new HostIdentity(new CountingClients(), Options.Create(new FleetOptions { MetadataUrl = "http://127.0.0.1:9" }));

        var error = await Assert.ThrowsAsync<FleetStoreException>(() => identity.GetHostIdAsync(CancellationToken.None));

        Assert.Contains("Deployer:Fleet:HostId is empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetHostId_Imdsv2_AsksForATokenThenTheInstanceId()
    {
        await using var imds = await ImdsStandIn.StartAsync("i-0123456789abcdef0");
        using var identity = new HostIdentity(new CountingClients(), Options.Create(new FleetOptions { MetadataUrl = imds.Url, CallTimeout = TimeSpan.FromSeconds(30) }));

        var first = await identity.GetHostIdAsync(CancellationToken.None);
        var second = await identity.GetHostIdAsync(CancellationToken.None);

        Assert.Equal("i-0123456789abcdef0", first);
        Assert.Equal(first, second);
        Assert.Equal(["PUT /latest/api/token", "GET /latest/meta-data/instance-id (token)"], imds.Calls);
    }

    private sealed class CountingClients : IHttpClientFactory
    {
        public int Created { get; private set; }

        public HttpClient CreateClient(string name)
        {
            Created++;
            return new HttpClient();
        }
    }
}
