using Amazon.Runtime;
using Deployer.Tests.Support;

namespace Deployer.Tests.Registry;

/// <summary>Tests that set process-wide environment variables run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentGroup
{
    public const string Name = "process environment";
}

/// <summary>The production path: no credentials or region in config, so AWSSDK.Core's default chains supply them.</summary>
[Collection(ProcessEnvironmentGroup.Name)]
public sealed class EcrDefaultChainTests
{
    [Fact]
    public async Task ResolveDigestAsync_CredentialsAndRegionFromEnvironment_SignsWithThem()
    {
        // Arrange: static test values in the variables the AWS chain reads first; never real ones.
        await using var registry = await LocalRegistry.StartAsync(LocalRegistryAuth.Htpasswd, username: "AWS");
        var pushed = await registry.PushImageAsync("student-performance", "latest");
        await using var ecr = await EcrStandIn.StartAsync(registry);
        var saved = new Dictionary<string, string?>();
        var variables = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = EcrStandIn.AccessKeyId,
            ["AWS_SECRET_ACCESS_KEY"] = EcrStandIn.SecretAccessKey,
            ["AWS_REGION"] = EcrStandIn.Region,
            ["AWS_EC2_METADATA_DISABLED"] = "true",
        };
        foreach (var (name, value) in variables)
        {
            saved[name] = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }

        FallbackRegionFactory.Reset();
        try
        {
            await using var host = RegistryTestHost.Create(new Dictionary<string, string?>
            {
                ["Deployer:Registry:Kind"] = "Ecr",
                ["Deployer:Registry:Endpoint"] = ecr.Endpoint.ToString(),
            });

            // Act
            var digest = await host.Registry.ResolveDigestAsync("latest", CancellationToken.None);

            // Assert
            Assert.Equal(pushed, digest);
            Assert.Empty(ecr.Rejections);
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            FallbackRegionFactory.Reset();
        }
    }
}
