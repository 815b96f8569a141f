using System.Globalization;
using System.Net.Http.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using StudentPerformance.Predictor.Tests.Support;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>
/// The page at / in a real headless Chromium (Debian's chromium and chromedriver): the form is built from the
/// model's schema, a prediction shows the score and model version, a bad score shows the server's error next to
/// the field. Screenshots go to artifacts/screenshots/.
/// </summary>
[Collection(FrontDoorGroup.Name)]
public sealed class BrowserTests(FrontDoorFixture fixture)
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string ChromedriverPath = "/usr/bin/chromedriver";

    private static readonly string ScreenshotDir = Path.Combine(RepoPaths.RepoRoot, "artifacts", "screenshots");

    [Fact]
    public async Task Page_FillFormAndPredict_ShowsScoreVersionAndFieldErrors()
    {
        var student = RestTests.ValidStudent();
        using var rest = await fixture.Server.Http.PostAsJsonAsync("/v1/predict", student);
        var expected = (await RestTests.ReadJsonAsync(rest))["mathScore"]!.GetValue<double>();
        using var model = await fixture.Server.Http.GetAsync(new Uri("/v1/model", UriKind.Relative));
        var info = await RestTests.ReadJsonAsync(model);
        var version = info["modelVersion"]!.GetValue<string>();
        var schema = info["categoricalFields"]!.AsArray();
        var profile = Directory.CreateTempSubdirectory("front-door-chromium-");
        try
        {
            using var driver = StartChromium(profile.FullName);
            var wait = new WebDriverWait(driver, TimeSpan.FromSeconds(30));

            // Fill the form: one select per categorical, holding exactly the model's values (after "Choose...").
            driver.Navigate().GoToUrl(fixture.Server.HttpAddress);
            wait.Until(d => d.FindElements(By.CssSelector("#field-race_ethnicity option")).Count > 1);
            foreach (var field in schema)
            {
                var name = field!["name"]!.GetValue<string>();
                var options = driver.FindElements(By.CssSelector($"#field-{name} option")).Select(o => o.GetAttribute("value")).Skip(1);
                Assert.Equal(field["allowedValues"]!.AsArray().Select(v => v!.GetValue<string>()), options);
                Choose(driver, name, student[name]!.GetValue<string>());
            }

            Type(driver, "reading_score", "72");
            Type(driver, "writing_score", "74");
            var screenshotForm = Save(driver, "page-form.png");

            // Predict and read the result.
            driver.FindElement(By.Id("predict-button")).Click();
            var shown = wait.Until(d => d.FindElement(By.Id("result-score")).Text is var t && t.Contains('.', StringComparison.Ordinal) ? t : null);
            var shownVersion = driver.FindElement(By.Id("result-version")).Text;
            var screenshotResult = Save(driver, "page-result.png");

            // A bad score: the server's 400 names the field, and the page puts the error beside it.
            Type(driver, "reading_score", "150");
            driver.FindElement(By.Id("predict-button")).Click();
            var fieldError = wait.Until(d => d.FindElement(By.Id("error-reading_score")).Text is { Length: > 0 } t ? t : null);
            var invalid = driver.FindElement(By.Id("field-reading_score")).GetAttribute("aria-invalid");
            var otherError = driver.FindElement(By.Id("error-writing_score")).Text;
            var staleScore = driver.FindElement(By.Id("result-score")).Text;
            var screenshotError = Save(driver, "page-field-error.png");

            Assert.Equal(expected.ToString("F1", CultureInfo.InvariantCulture), shown);
            Assert.Equal(version, shownVersion);
            Assert.Contains("100", fieldError, StringComparison.Ordinal);
            Assert.Equal("true", invalid);
            Assert.Empty(otherError);
            Assert.DoesNotContain(".", staleScore, StringComparison.Ordinal);
            Assert.All([screenshotForm, screenshotResult, screenshotError], p => Assert.True(new FileInfo(p).Length > 10_000, p));
        }
        finally
        {
            try
            {
                profile.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Chromium may still hold a lock file for a moment; a leftover temp profile is harmless.
            }
        }
    }

    private static ChromeDriver StartChromium(string profile)
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromedriverPath)!, Path.GetFileName(ChromedriverPath));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments(
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--disable-domain-reliability",
            "--no-default-browser-check",
            // Belt and braces for the network rule: no host name resolves, so only the loopback server is reachable.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--window-size=1100,820",
            $"--user-data-dir={profile}");
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    private static void Choose(ChromeDriver driver, string field, string value)
    {
        foreach (var option in driver.FindElements(By.CssSelector($"#field-{field} option")))
        {
            if (option.GetAttribute("value") == value)
            {
                option.Click();
                return;
            }
        }

        throw new InvalidOperationException($"no option '{value}' in #field-{field}");
    }

    private static void Type(ChromeDriver driver, string field, string text)
    {
        var input = driver.FindElement(By.Id($"field-{field}"));
        input.Clear();
        input.SendKeys(text);
    }

    private static string Save(ChromeDriver driver, string name)
    {
        Directory.CreateDirectory(ScreenshotDir);
        var path = Path.Combine(ScreenshotDir, name);
        driver.GetScreenshot().SaveAsFile(path);
        return path;
    }
}
