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
    public void LifecyclePolicy_Predictor_ExpiresUntaggedAfter14DaysAndKeepsTheNewest10_WithTheirSignatures()
    {
        var rules = Rules("student-performance");

        Assert.Equal(3, rules.Count);
        var (untagged, untaggedAction) = rules[0];
        Assert.Equal("untagged", untagged.GetProperty("tagStatus").GetString());
        Assert.Equal("sinceImagePushed", untagged.GetProperty("countType").GetString());
        Assert.Equal("days", untagged.GetProperty("countUnit").GetString());
        Assert.Equal(14, untagged.GetProperty("countNumber").GetInt32());
        Assert.Equal("expire", untaggedAction);

        // cosign's signature manifests (sha256-<hex>.sig): the newest ten kept by a rule of their own, which the
        // last rule cannot expire but still counts, hence its twenty: ten images, each followed by its signature.
        var (signatures, signaturesAction) = rules[1];
        Assert.Equal("tagged", signatures.GetProperty("tagStatus").GetString());
        Assert.Equal(["sha256-*.sig"], signatures.GetProperty("tagPatternList").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("imageCountMoreThan", signatures.GetProperty("countType").GetString());
        Assert.Equal(10, signatures.GetProperty("countNumber").GetInt32());
        Assert.Equal("expire", signaturesAction);

        var (any, anyAction) = rules[2];
        Assert.Equal("any", any.GetProperty("tagStatus").GetString());
        Assert.Equal("imageCountMoreThan", any.GetProperty("countType").GetString());
        Assert.Equal(20, any.GetProperty("countNumber").GetInt32());
        Assert.Equal("expire", anyAction);
    }

    /// <summary>
    /// The launch template pins the deployer and edge images by digest; every push tags its image with the commit.
    /// A replacement host boots from those digests however many merges later, so no rule may expire a tagged image
    /// of those repositories: only untagged ones (no host pins an image that never had a tag) go.
    /// </summary>
    [Theory]
    [InlineData("student-performance-deployer")]
    [InlineData("student-performance-edge")]
    public void LifecyclePolicy_DeployerAndEdge_NeverExpireATaggedImage(string repository)
    {
        var rules = Rules(repository);

        Assert.NotEmpty(rules);
        Assert.All(rules, rule => Assert.Equal("untagged", rule.Selection.GetProperty("tagStatus").GetString()));
        Assert.DoesNotContain(rules, rule => rule.Selection.GetProperty("countType").GetString() == "imageCountMoreThan");
    }

    private static List<(JsonElement Selection, string? Action)> Rules(string repositoryName)
    {
        var (_, repository) = Assert.Single(App.Resources("Registry", "AWS::ECR::Repository"),
            r => r.Resource.GetProperty("Properties").GetProperty("RepositoryName").GetString() == repositoryName);
        var text = repository.GetProperty("Properties").GetProperty("LifecyclePolicy").GetProperty("LifecyclePolicyText").GetString()!;
        using var policy = JsonDocument.Parse(text);
        return [.. policy.RootElement.GetProperty("rules").EnumerateArray()
            .OrderBy(r => r.GetProperty("rulePriority").GetInt32())
            .Select(r => (r.GetProperty("selection").Clone(), r.GetProperty("action").GetProperty("type").GetString()))];
    }
}
