using System.Text.Json;
using System.Text.RegularExpressions;
using Deployer.Tests.Support;
using StudentPerformance.Deployer.Hosting;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// What an operator sees, on a real BlueGreen deployer, engine, registry, edge and predictor images: the dashboard in
/// headless Chromium and <c>Deployer status --watch</c> follow a good rollout step by step; after an image the quality
/// gate refuses, both show the refusal and the gate's figures; and every metric the Prometheus rules and the Grafana
/// dashboard name is one the deployer, the edge's exporter or the live slot exposes. One good and one refused rollout,
/// in one test, to keep the end-to-end time short. Screenshots of both states go to artifacts/screenshots/.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed partial class OperatorViewEndToEndTests(PredictorImages images, WrongLabelImage wrongLabels) : IAsyncLifetime, IClassFixture<WrongLabelImage>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(240);
    private static readonly string[] StepsAfterTheCandidate = ["switch", "health gate", "bake", "retire", "commit"];
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task DashboardAndStatusWatch_FollowAGoodRollout_ThenShowTheRefusalAndTheGateFigures()
    {
        // Arrange: v1 live in a slot behind the edge, with the edge's exporter on.
        Assert.NotNull(wrongLabels);
        var edgeMetricsPort = LocalRegistry.FreePort();
        var settings = _rig.BlueGreen(new Dictionary<string, string?>
        {
            ["Deployer:Edge:MetricsPort"] = edgeMetricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Deployer:HealthGate:BakeTime"] = "00:00:03",
        });
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(settings);
        await Probes.WaitUntilAsync(
            async () => await deployer.LastOutcomeAsync() == "Succeeded" && await _rig.ModelVersionAsync() == images.V1ModelVersion,
            Long, "v1 to be rolled out", () => deployer.Logs.Text);
        using var browser = new Chromium(1000, 1250);
        browser.Driver.Navigate().GoToUrl(deployer.Admin);
        // /status needs the admin token: the page asks for it once and keeps it in the tab (a reload keeps it too).
        browser.Until("the token form", Long, d => d.FindElement(OpenQA.Selenium.By.Id("token-form")).Displayed);
        browser.Driver.FindElement(OpenQA.Selenium.By.Id("token-input")).SendKeys(_rig.AdminToken);
        browser.Driver.FindElement(OpenQA.Selenium.By.Id("token-submit")).Click();
        browser.Until("v1's rollout in the history", Long, _ => browser.All("#history li[data-outcome='Succeeded']").Count > 0);
        var tokenFile = Path.Combine(_rig.StateDirectory, StudentPerformance.Deployer.Admin.AdminOptions.DefaultTokenFileName);

        // Act 1: a good image; the CLI follows it while the page is watched.
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await Probes.WaitUntilAsync(async () => NewestRunning(await deployer.StatusAsync()) == v2, Long, "the rollout of v2 to start", () => deployer.Logs.Text);
        // An idle page asks every few seconds; reloading it now makes it follow the rollout from its first step.
        browser.Driver.Navigate().Refresh();
        using var watchOutput = new StringWriter();
        using var watchError = new StringWriter();
        var watch = DeployerCommandLine.InvokeAsync(["status", "--watch", "--url", deployer.Admin.ToString(), "--interval", "00:00:00.250", "--token-file", tokenFile], watchOutput, watchError);
        var phases = new List<string>();
        string? rolloutShot = null;
        var started = TimeProvider.System.GetTimestamp();
        while (!watch.IsCompleted && TimeProvider.System.GetElapsedTime(started) < Long)
        {
            if (browser.Text("candidate-phase") is { Length: > 0 } phase && phase != phases.LastOrDefault())
            {
                phases.Add(phase);
                if (phase is "health gate" or "bake")
                {
                    rolloutShot = browser.Save("dashboard-rollout.png");
                }
            }

            await Task.Delay(100);
        }

        var watchExit = await watch;
        browser.Until("v2's rollout in the history and no candidate", Long, _ => browser.All("#history li[data-outcome='Succeeded']").Count >= 2 && browser.Text("candidate-phase") == "none");

        // Assert 1: the page showed the candidate's step changing, and the CLI printed each step and the outcome.
        Assert.True(phases.Contains("candidate") && phases.Intersect(StepsAfterTheCandidate).Any(), $"phases seen: {string.Join(" → ", phases)}");
        Assert.NotNull(rolloutShot);
        var watched = watchOutput.ToString();
        Assert.Equal(0, watchExit);
        Assert.Contains("Following rollout", watched, StringComparison.Ordinal);
        Assert.Matches(@"  switch passed in \d", watched);
        Assert.Matches(@"  health gate passed in \d", watched);
        Assert.Matches(@"rollout \S+ Succeeded in ", watched);
        Assert.Equal(images.V2ModelVersion, browser.Text("live-version")?.Split(' ')[0]);
        Assert.Equal(v2, browser.Text("live-digest"));

        // Act 2: an image whose model the quality gate refuses.
        var bad = await _rig.PushAsync(WrongLabelImage.Tag);
        await Probes.WaitUntilAsync(async () => await deployer.LastOutcomeAsync() == "Refused" && (await deployer.QuarantinedAsync()).Contains(bad), Long, "the wrong-label image to be refused", () => deployer.Logs.Text);
        browser.Until("the refusal on top of the history and the gate's result", Long, _ => browser.All("#history > li:first-child[data-outcome='Refused']").Count == 1 && browser.Text("gate-result") == "refused");
        var refusedShot = browser.Save("dashboard-refused.png");
        using var statusOutput = new StringWriter();
        var statusExit = await DeployerCommandLine.InvokeAsync(["status", "--url", deployer.Admin.ToString(), "--token-file", tokenFile], statusOutput, TextWriter.Null);

        // Assert 2: the refusal, the quarantine and the gate's figures, on the page and in the terminal.
        var status = await deployer.StatusAsync();
        var gate = status.GetProperty("qualityGate");
        var candidateRmse = gate.GetProperty("candidate").GetProperty("rmse").GetDouble().ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
        var liveRmse = gate.GetProperty("live").GetProperty("rmse").GetDouble().ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("quality gate refused the image", browser.Text("history"), StringComparison.Ordinal);
        Assert.Single(browser.All("#warnings li[data-kind='quarantined']"));
        Assert.Contains(candidateRmse, browser.Text("gate-chart"), StringComparison.Ordinal);
        Assert.Contains(liveRmse, browser.Text("gate-chart"), StringComparison.Ordinal);
        // One pair of bars for the golden set, one for each slice the gate judged.
        Assert.Single(browser.All("#gate-chart rect[data-row='overall'][data-series='candidate']"));
        Assert.Single(browser.All("#gate-chart rect[data-row='overall'][data-series='live']"));
        Assert.Equal(gate.GetProperty("slices").GetArrayLength(), browser.All("#gate-chart rect[data-row='slice'][data-series='candidate']").Count);
        Assert.NotEmpty(browser.All("#gate-reasons li.refusal"));
        Assert.Equal(v2, browser.Text("live-digest"));
        var printed = statusOutput.ToString();
        Assert.Equal(1, statusExit);
        Assert.Contains("Refused", printed, StringComparison.Ordinal);
        Assert.Contains($"RMSE {candidateRmse}", printed, StringComparison.Ordinal);
        Assert.Contains("! quarantined:", printed, StringComparison.Ordinal);
        Assert.All([rolloutShot, refusedShot], p => Assert.True(new FileInfo(p!).Length > 10_000, p));

        // Assert: on a phone-sized window the page is one column with nothing wider than the screen.
        browser.Driver.Manage().Window.Size = new System.Drawing.Size(390, 844);
        var fits = browser.Until("the phone-sized layout", Long, d => ((OpenQA.Selenium.IJavaScriptExecutor)d).ExecuteScript(
            "return document.documentElement.scrollWidth <= window.innerWidth ? 'fits' : `${document.documentElement.scrollWidth} > ${window.innerWidth}`;") as string);
        Assert.Equal("fits", fits);
        browser.Save("dashboard-phone.png");

        // Assert 3: every metric the rules and the Grafana dashboard name is exposed by the deployer, the edge or the live slot.
        var live = status.GetProperty("liveSlot").GetString()!;
        var slotHttpPort = settings[live == "blue" ? "Deployer:Edge:BluePorts:1" : "Deployer:Edge:GreenPorts:1"]!.Split(':')[0];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        // Only the deployer's /metrics asks for the token; the edge's exporter and the slot ignore the header.
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _rig.AdminToken);
        var exposed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var scrape in new[] { new Uri(deployer.Admin, "/metrics"), new Uri($"http://127.0.0.1:{edgeMetricsPort}/metrics"), new Uri($"http://127.0.0.1:{slotHttpPort}/metrics") })
        {
            exposed.UnionWith(MetricNames(await http.GetStringAsync(scrape)));
        }

        var named = NamedMetrics();
        Assert.True(named.Count > 20, $"only {named.Count} metric names found in deploy/");
        Assert.Empty(named.Where(n => !exposed.Contains(n)).Order(StringComparer.Ordinal));
    }

    /// <summary>The digest of the newest rollout in /status when it is still running, else null.</summary>
    private static string? NewestRunning(JsonElement status) =>
        status.GetProperty("history").EnumerateArray().FirstOrDefault() is { ValueKind: JsonValueKind.Object } newest
            && newest.GetProperty("outcome").ValueKind == JsonValueKind.Null
            ? newest.GetProperty("digest").GetString()
            : null;

    /// <summary>Every sample name (and family name) in a Prometheus text exposition.</summary>
    private static IEnumerable<string> MetricNames(string exposition)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                yield return line.Split(' ')[2];
            }
            else if (line.Length > 0 && line[0] != '#')
            {
                yield return line[..line.IndexOfAny(['{', ' '])];
            }
        }
    }

    /// <summary>The raw metric names in deploy/prometheus/rules and deploy/grafana (recording rules' names excluded).</summary>
    private static HashSet<string> NamedMetrics()
    {
        var deploy = Path.Combine(PredictorImages.RepositoryRoot, "deploy");
        var files = Directory.GetFiles(Path.Combine(deploy, "prometheus", "rules"), "*.yml").Concat(Directory.GetFiles(Path.Combine(deploy, "grafana"), "*.json"));
        return [.. files.SelectMany(f => MetricName().Matches(File.ReadAllText(f)).Select(m => m.Value))];
    }

    [GeneratedRegex(@"(?<![\w:])(deployer|grpc_server|predictor|haproxy)_[a-z0-9_]+(?![\w:])")]
    private static partial Regex MetricName();
}
