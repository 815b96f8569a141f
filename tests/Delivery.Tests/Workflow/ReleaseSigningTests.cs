using System.Text.RegularExpressions;
using StudentPerformance.Delivery.Tests.Docker;

namespace StudentPerformance.Delivery.Tests.Workflow;

/// <summary>
/// The release job's order, which hosts depend on (docs/security.md, signed images): a host that sees the tracked tag
/// on a digest without its signature refuses and quarantines it. GitHub's parser checks the workflow's shape
/// (scripts/test.sh, lint workflows); these check what it cannot: which tag each push writes, and in what order.
/// </summary>
public sealed partial class ReleaseSigningTests
{
    private static readonly string Workflow = File.ReadAllText(Path.Combine(RepoPaths.Root, ".github", "workflows", "main.yaml"));

    [Fact]
    public void BuildSteps_PushTheirOwnTagOnly_NeverTheTrackedTag()
    {
        // The pushes to ECR; the gate's local candidates (sp-gate/...) are never pushed.
        var tags = TagsLine().Matches(Workflow).Select(m => m.Groups[1].Value)
            .Where(tag => tag.StartsWith("${{ steps.ecr.outputs.registry }}/", StringComparison.Ordinal))
            .ToList();

        Assert.Equal(3, tags.Count);
        Assert.All(tags, tag => Assert.EndsWith(":${{ github.sha }}", tag, StringComparison.Ordinal));
        Assert.DoesNotContain(":latest", string.Join("\n", tags), StringComparison.Ordinal);
    }

    [Fact]
    public void EveryPushedDigestIsSigned_BeforeTheTrackedTagMoves()
    {
        var lastPush = Workflow.LastIndexOf("uses: docker/build-push-action@", StringComparison.Ordinal);
        var sign = Workflow.IndexOf("cosign sign --yes --tlog-upload=false --key \"$SIGNING_KEY\"", StringComparison.Ordinal);
        var retag = Workflow.IndexOf("--image-tag latest", StringComparison.Ordinal);

        Assert.InRange(lastPush, 0, int.MaxValue);
        Assert.InRange(sign, lastPush, int.MaxValue);
        Assert.InRange(retag, sign, int.MaxValue);
        // All three digests, the ones the build steps report.
        foreach (var step in new[] { "predictor", "deployer", "edge" })
        {
            Assert.Contains($"id: {step}\n", Workflow, StringComparison.Ordinal);
            Assert.Contains($"${{{{ steps.{step}.outputs.digest }}}}", Workflow, StringComparison.Ordinal);
        }

        Assert.Contains("SIGNING_KEY: awskms:///${{ vars.SIGNING_KEY_ALIAS || 'alias/student-performance-image-signing' }}", Workflow, StringComparison.Ordinal);
    }

    /// <summary>
    /// cosign 3 writes signatures in the new bundle format as OCI referrers by default; the deployer reads the
    /// <c>sha256-&lt;hex&gt;.sig</c> manifests cosign 2 writes. Moving to 3 needs the deployer to read referrers first.
    /// </summary>
    [Fact]
    public void Cosign_IsVersion2_WhichWritesTheSigTagTheDeployerReads()
    {
        var release = CosignRelease().Match(Workflow);

        Assert.True(release.Success, "the workflow pins no cosign-release");
        Assert.StartsWith("v2.", release.Groups[1].Value, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^\s+tags: (.+)$", RegexOptions.Multiline)]
    private static partial Regex TagsLine();

    [GeneratedRegex(@"^\s+cosign-release: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex CosignRelease();
}
