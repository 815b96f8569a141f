using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

/// <summary>What the alert rules (deploy/prometheus) rely on in the deployer's exposition.</summary>
public class DeployerMetricsTests
{
    [Fact]
    public async Task Exposition_BeforeAnyRollout_HasEveryOutcomeAtZero()
    {
        var metrics = new DeployerMetrics();

        var text = await ScrapeAsync(metrics);

        foreach (var outcome in new[] { "Succeeded", "Refused", "RolledBack", "Failed" })
        {
            Assert.Contains($"deployer_rollouts_total{{outcome=\"{outcome}\"}} 0", text, StringComparison.Ordinal);
        }

        Assert.Contains("deployer_checks_total{result=\"error\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("deployer_quality_gate_total{result=\"refused\"} 0", text, StringComparison.Ordinal);
        Assert.Contains("deployer_registry_check_failures_in_a_row 0", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\ndeployer_registry_last_success_timestamp_seconds ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ObserveAtScrape_ReadsQuarantineAndRolloutAtEachScrape()
    {
        var metrics = new DeployerMetrics();
        var quarantined = 0;
        var running = false;
        metrics.ObserveAtScrape(() => quarantined, () => running);

        var before = await ScrapeAsync(metrics);
        quarantined = 2;
        running = true;
        var after = await ScrapeAsync(metrics);

        Assert.Contains("deployer_quarantined_digests 0", before, StringComparison.Ordinal);
        Assert.Contains("deployer_rollout_in_progress 0", before, StringComparison.Ordinal);
        Assert.Contains("deployer_quarantined_digests 2", after, StringComparison.Ordinal);
        Assert.Contains("deployer_rollout_in_progress 1", after, StringComparison.Ordinal);
    }

    private static async Task<string> ScrapeAsync(DeployerMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
