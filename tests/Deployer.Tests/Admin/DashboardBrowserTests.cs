using System.Text.Json.Nodes;
using Deployer.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OpenQA.Selenium;
using OpenQA.Selenium.Support.UI;
using StudentPerformance.Deployer.Admin;

namespace StudentPerformance.Deployer.Tests.Admin;

/// <summary>
/// The dashboard in headless Chromium against a Kestrel that serves its real files and a recorded /status: the token
/// login when /status asks for one, and the gate chart's interval and slices when a report carries them. The page on
/// a real deployer is driven by OperatorViewEndToEndTests.
/// </summary>
public class DashboardBrowserTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Page_StatusAsksForAToken_ShowsTheLogin_ThenSendsTheTokenAsABearerHeaderOnly()
    {
        var seen = new List<string>();
        var cookies = new List<string>();
        var (app, address) = await LocalRegistryLoopback.StartAsync(a =>
        {
            DashboardPage.LoadEmbedded().Map(a);
            a.MapGet("/status", (HttpContext c) =>
            {
                var header = c.Request.Headers.Authorization.ToString();
                lock (seen)
                {
                    seen.Add(header);
                    cookies.Add(c.Request.Headers.Cookie.ToString());
                }

                return header == "Bearer s3cret" ? Results.Text(Status(null).ToJsonString(), "application/json") : Results.StatusCode(401);
            });
        });
        await using var _ = app;
        using var browser = new Chromium(1000, 800);
        var wait = new WebDriverWait(browser.Driver, Long);

        browser.Driver.Navigate().GoToUrl(address);
        wait.Until(d => d.FindElement(By.Id("token-form")).Displayed);
        browser.Driver.FindElement(By.Id("token-input")).SendKeys("wrong");
        browser.Driver.FindElement(By.Id("token-submit")).Click();
        wait.Until(_ => browser.Text("token-error") is { Length: > 0 });
        browser.Driver.FindElement(By.Id("token-input")).SendKeys("s3cret");
        browser.Driver.FindElement(By.Id("token-submit")).Click();
        wait.Until(d => d.FindElement(By.Id("dashboard")).Displayed);

        Assert.Equal("green", browser.Text("live-slot"));
        Assert.Contains("Bearer wrong", seen);
        Assert.Contains("Bearer s3cret", seen);
        Assert.All(cookies, c => Assert.Empty(c));
        Assert.DoesNotContain("s3cret", browser.Driver.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Page_ReportWithIntervalAndSlices_DrawsABarPairPerSliceAndTheInterval()
    {
        var report = GateReport();
        report["interval"] = new JsonObject { ["low"] = 5.1, ["high"] = 5.5, ["level"] = 0.95 };
        report["slices"] = new JsonArray(
            new JsonObject { ["name"] = "lunch=free/reduced", ["candidateRmse"] = 6.9, ["liveRmse"] = 5.4, ["refused"] = true },
            new JsonObject { ["feature"] = "gender", ["value"] = "female", ["candidate"] = new JsonObject { ["rmse"] = 5.0 }, ["live"] = new JsonObject { ["rmse"] = 5.1 } });
        var (app, address) = await LocalRegistryLoopback.StartAsync(a =>
        {
            DashboardPage.LoadEmbedded().Map(a);
            a.MapGet("/status", () => Results.Text(Status(report).ToJsonString(), "application/json"));
        });
        await using var _ = app;
        using var browser = new Chromium(1000, 800);
        var wait = new WebDriverWait(browser.Driver, Long);

        browser.Driver.Navigate().GoToUrl(address);
        wait.Until(_ => browser.All("#gate-chart rect[data-series='live']").Count > 0);

        Assert.Equal(3, browser.All("#gate-chart rect[data-series='candidate']").Count);
        Assert.Equal(3, browser.All("#gate-chart rect[data-series='live']").Count);
        Assert.Single(browser.All("#gate-chart rect.refused"));
        Assert.Single(browser.All("#gate-chart line[data-series='interval']"));
        Assert.Contains("lunch=free/reduced", browser.Text("gate-chart"), StringComparison.Ordinal);
        Assert.Contains("gender=female", browser.Text("gate-chart"), StringComparison.Ordinal);
        Assert.Contains("[5.100, 5.500]", browser.Text("gate-reasons"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Page_ReportAsItIsToday_DrawsCandidateAgainstLiveWithoutIntervalOrSlices()
    {
        var (app, address) = await LocalRegistryLoopback.StartAsync(a =>
        {
            DashboardPage.LoadEmbedded().Map(a);
            a.MapGet("/status", () => Results.Text(Status(GateReport()).ToJsonString(), "application/json"));
        });
        await using var _ = app;
        using var browser = new Chromium(1000, 800);
        var wait = new WebDriverWait(browser.Driver, Long);

        browser.Driver.Navigate().GoToUrl(address);
        wait.Until(_ => browser.All("#gate-chart rect[data-series='live']").Count > 0);

        Assert.Single(browser.All("#gate-chart rect[data-series='candidate']"));
        Assert.Empty(browser.All("#gate-chart line[data-series='interval']"));
        Assert.Contains("5.300", browser.Text("gate-chart"), StringComparison.Ordinal);
        Assert.Equal("passed", browser.Text("gate-result"));
    }

    [Fact]
    public async Task Page_PhoneWidth_IsOneColumnWithNothingWiderThanTheScreen()
    {
        var digest = "sha256:" + new string('7', 64);
        var status = Status(GateReport());
        status["warnings"] = new JsonArray(new JsonObject { ["kind"] = "quarantined", ["message"] = $"{digest} is quarantined since 2026-12-07 13:12:25Z: quality gate refused the image" });
        status["edge"] = new JsonObject
        {
            ["reachable"] = true,
            ["servers"] = new JsonArray(new JsonObject { ["backend"] = "be_8000", ["slot"] = "green", ["up"] = true, ["status"] = "UP", ["currentSessions"] = 0 }),
        };
        status["history"] = new JsonArray(new JsonObject
        {
            ["id"] = "r1",
            ["digest"] = digest,
            ["kind"] = "deploy",
            ["startedAt"] = "2026-12-07T12:00:00+00:00",
            ["outcome"] = "Refused",
            ["detail"] = $"quality gate refused the image {digest}: candidate RMSE 43.40 > 7.00 (Deployer:QualityGate:MaxRelativeRmseIncrease)",
            ["duration"] = "00:00:21",
            ["steps"] = new JsonArray(new JsonObject { ["name"] = "candidate", ["duration"] = "00:00:19", ["outcome"] = "Failed", ["error"] = "refused" }),
        });
        var (app, address) = await LocalRegistryLoopback.StartAsync(a =>
        {
            DashboardPage.LoadEmbedded().Map(a);
            a.MapGet("/status", () => Results.Text(status.ToJsonString(), "application/json"));
        });
        await using var _ = app;
        using var browser = new Chromium(390, 844);
        // Headless Chromium starts no narrower than 500 px; a resize goes below that.
        browser.Driver.Manage().Window.Size = new System.Drawing.Size(390, 844);
        var wait = new WebDriverWait(browser.Driver, Long);

        browser.Driver.Navigate().GoToUrl(address);
        wait.Until(_ => browser.All("#history li[data-outcome='Refused']").Count > 0);
        var fits = ((IJavaScriptExecutor)browser.Driver).ExecuteScript(
            "return document.documentElement.scrollWidth <= window.innerWidth ? 'fits' : `${document.documentElement.scrollWidth} > ${window.innerWidth}`;") as string;

        Assert.Equal("fits", fits);
    }

    private static JsonObject GateReport() => new()
    {
        ["rolloutId"] = "r1",
        ["result"] = "passed",
        ["passed"] = true,
        ["evaluatedAt"] = "2026-12-07T12:00:00+00:00",
        ["rows"] = 200,
        ["candidate"] = new JsonObject { ["modelVersion"] = "v2", ["rmse"] = 5.3 },
        ["live"] = new JsonObject { ["modelVersion"] = "v1", ["rmse"] = 5.2 },
        ["refusals"] = new JsonArray(),
        ["warnings"] = new JsonArray(),
    };

    private static JsonObject Status(JsonObject? gate) => new()
    {
        ["trackedImage"] = "reg/app:latest",
        ["strategy"] = "BlueGreen",
        ["mode"] = "Deploy",
        ["liveSlot"] = "green",
        ["live"] = new JsonObject { ["slot"] = "green", ["digest"] = "sha256:aaaa", ["modelVersion"] = "v2" },
        ["qualityGate"] = gate,
        ["edge"] = new JsonObject { ["reachable"] = true, ["servers"] = new JsonArray() },
        ["warnings"] = new JsonArray(),
        ["history"] = new JsonArray(),
    };
}
