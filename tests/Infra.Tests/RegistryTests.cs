using System.Text.Json;

namespace StudentPerformance.Infra.Tests;

public sealed class RegistryTests
{
    private static readonly SynthesizedApp App = SynthesizedApp.Default;

    [Fact]
    public void Repositories_AreTheThreeTheWorkflowPushes_ScannedEncryptedMutableAndRetained()
    {
        var repositories = App.Resources("Registry", "AWS::ECR::Repository");

        Assert.Equal(
            ["student-performance", "student-performance-deployer", "student-performance-edge"],
            repositories.Select(r => r.Resource.GetProperty("Properties").GetProperty("RepositoryName").GetString()).Order(StringComparer.Ordinal));
        foreach (var (_, repository) in repositories)
        {
            var properties = repository.GetProperty("Properties");
            Assert.True(properties.GetProperty("ImageScanningConfiguration").GetProperty("ScanOnPush").GetBoolean());
            Assert.Equal("AES256", properties.GetProperty("EncryptionConfiguration").GetProperty("EncryptionType").GetString());
            // The deployer follows a tag that every push moves.
            Assert.Equal("MUTABLE", properties.GetProperty("ImageTagMutability").GetString());
            Assert.Equal("Retain", repository.GetProperty("DeletionPolicy").GetString());
        }
    }

    [Fact]
    public void LifecyclePolicy_ExpiresUntaggedAfter14DaysAndKeepsTheNewest10()
    {
        foreach (var (_, repository) in App.Resources("Registry", "AWS::ECR::Repository"))
        {
            var text = repository.GetProperty("Properties").GetProperty("LifecyclePolicy").GetProperty("LifecyclePolicyText").GetString()!;
            using var policy = JsonDocument.Parse(text);
            var rules = policy.RootElement.GetProperty("rules").EnumerateArray()
                .OrderBy(r => r.GetProperty("rulePriority").GetInt32())
                .Select(r => (r.GetProperty("selection"), r.GetProperty("action").GetProperty("type").GetString()))
                .ToList();

            Assert.Equal(2, rules.Count);
            var (untagged, untaggedAction) = rules[0];
            Assert.Equal("untagged", untagged.GetProperty("tagStatus").GetString());
            Assert.Equal("sinceImagePushed", untagged.GetProperty("countType").GetString());
            Assert.Equal("days", untagged.GetProperty("countUnit").GetString());
            Assert.Equal(14, untagged.GetProperty("countNumber").GetInt32());
            Assert.Equal("expire", untaggedAction);

            var (any, anyAction) = rules[1];
            Assert.Equal("any", any.GetProperty("tagStatus").GetString());
            Assert.Equal("imageCountMoreThan", any.GetProperty("countType").GetString());
            Assert.Equal(10, any.GetProperty("countNumber").GetInt32());
            Assert.Equal("expire", anyAction);
        }
    }
}
