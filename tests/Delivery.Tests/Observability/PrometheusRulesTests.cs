using System.Text.Json;
using System.Text.RegularExpressions;
using StudentPerformance.Delivery.Tests.Docker;

namespace StudentPerformance.Delivery.Tests.Observability;

/// <summary>
/// deploy/prometheus with Debian's promtool (package prometheus, scripts/setup-host.sh): the rules load, their unit
/// tests pass, every alert has a test that fires it and one that keeps it silent, and the Grafana dashboard names only
/// recording rules that exist. That the raw metric names exist is checked against real services in
/// Deployer.Tests' OperatorViewEndToEndTests.
/// </summary>
public sealed partial class PrometheusRulesTests
{
    private static readonly string Rules = Path.Combine(RepoPaths.Root, "deploy", "prometheus", "rules");
    private static readonly string UnitTests = Path.Combine(RepoPaths.Root, "deploy", "prometheus", "tests");

    [Fact]
    public async Task CheckRules_EveryRuleFile_IsValid()
    {
        var result = await PromtoolAsync(["check", "rules", .. Directory.GetFiles(Rules, "*.yml").Order(StringComparer.Ordinal)]);

        Assert.True(result.Succeeded, result.Tail());
        Assert.Contains("SUCCESS", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TestRules_UnitTests_Pass()
    {
        var result = await PromtoolAsync(["test", "rules", .. Directory.GetFiles(UnitTests, "*.test.yml").Order(StringComparer.Ordinal)]);

        Assert.True(result.Succeeded, result.Tail(80));
    }

    [Fact]
    public async Task CheckConfig_ComposeConfigurationWithTargetsFilledIn_IsValid()
    {
        var template = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "deploy", "prometheus", "prometheus.yml"));
        var directory = Directory.CreateTempSubdirectory("prometheus-config-").FullName;
        try
        {
            var tokenFile = Path.Combine(directory, "admin-token");
            await File.WriteAllTextAsync(tokenFile, "not-a-real-token");
            var config = template.Replace("${DEPLOYER_ADMIN_PORT}", "9090", StringComparison.Ordinal)
                .Replace("${DEPLOYER_TOKEN_FILE}", tokenFile, StringComparison.Ordinal)
                .Replace("${EDGE_METRICS_PORT}", "9101", StringComparison.Ordinal)
                .Replace("${PREDICTOR_HTTP_PORT}", "8080", StringComparison.Ordinal)
                .Replace("${SCRAPE_INTERVAL}", "15s", StringComparison.Ordinal)
                .Replace("/etc/prometheus/rules/*.yml", Path.Combine(Rules, "*.yml"), StringComparison.Ordinal);
            var path = Path.Combine(directory, "prometheus.yml");
            await File.WriteAllTextAsync(path, config);

            var result = await PromtoolAsync(["check", "config", path]);

            Assert.DoesNotMatch(@"\$\{[A-Z_]+\}", config);
            Assert.True(result.Succeeded, result.Tail());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void UnitTests_EveryAlert_HasAFiringAndASilentCase()
    {
        var alerts = AlertName().Matches(File.ReadAllText(Path.Combine(Rules, "alerts.yml"))).Select(m => m.Groups[1].Value).ToList();
        var tests = string.Join('\n', Directory.GetFiles(UnitTests, "*.test.yml").Select(File.ReadAllText));

        var silent = SilentCase().Matches(tests).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var firing = FiringCase().Matches(tests).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

        Assert.True(alerts.Count >= 8, $"alerts found: {string.Join(", ", alerts)}");
        Assert.Equal([], alerts.Where(a => !silent.Contains(a)).ToList());
        Assert.Equal([], alerts.Where(a => !firing.Contains(a)).ToList());
    }

    [Fact]
    public void GrafanaDashboard_RecordingRulesItNames_AreRecorded()
    {
        var recorded = RecordName().Matches(string.Join('\n', Directory.GetFiles(Rules, "*.yml").Select(File.ReadAllText)))
            .Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var dashboard = File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", "grafana", "student-performance.json"));
        using var document = JsonDocument.Parse(dashboard);

        var used = RecordingRuleReference().Matches(dashboard).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);

        Assert.Equal("DS_PROMETHEUS", document.RootElement.GetProperty("__inputs")[0].GetProperty("name").GetString());
        Assert.NotEmpty(used);
        Assert.Equal([], used.Where(u => !recorded.Contains(u)).ToList());
    }

    private static async Task<CommandResult> PromtoolAsync(IEnumerable<string> arguments)
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        Assert.True(promtool is not null, "promtool is missing: scripts/setup-host.sh installs Debian's package prometheus, which ships it.");
        return await Command.RunAsync(promtool, arguments, TimeSpan.FromMinutes(2));
    }

    [GeneratedRegex(@"^\s*- alert: (\w+)", RegexOptions.Multiline)]
    private static partial Regex AlertName();

    [GeneratedRegex(@"^\s*- record: ([\w:]+)", RegexOptions.Multiline)]
    private static partial Regex RecordName();

    [GeneratedRegex(@"\bjob:[a-z0-9_]+:[a-z0-9_]+")]
    private static partial Regex RecordingRuleReference();

    /// <summary>An alert_rule_test case expecting no alert, in either YAML style.</summary>
    [GeneratedRegex(@"alertname: (\w+)(?:,|\s*\n\s*)\s*exp_alerts: \[\]")]
    private static partial Regex SilentCase();

    /// <summary>An alert_rule_test case expecting at least one alert.</summary>
    [GeneratedRegex(@"alertname: (\w+)\s*\n\s*exp_alerts:\s*\n\s*- exp_labels")]
    private static partial Regex FiringCase();
}
