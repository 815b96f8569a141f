using System.Globalization;
using System.Net.Http.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>
/// The page at / in a real headless Chromium (Debian's chromium and chromedriver): the form is built from the
/// model's schema, a prediction shows the score and model version, a bad score shows the server's error next to
/// the field. Screenshots go to artifacts/screenshots/.
/// </summary>
[Collection(FrontDoorGroup.Name)]
public sealed class BrowserTests(FrontDoorFixture fixture)
{
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
        using var browser = new Chromium(1100, 820);
        var driver = browser.Driver;
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
        var screenshotForm = browser.Save("page-form.png");

        // Predict and read the result.
        driver.FindElement(By.Id("predict-button")).Click();
        var shown = wait.Until(d => d.FindElement(By.Id("result-score")).Text is var t && t.Contains('.', StringComparison.Ordinal) ? t : null);
        var shownVersion = driver.FindElement(By.Id("result-version")).Text;
        var screenshotResult = browser.Save("page-result.png");

        // A bad score: the server's 400 names the field, and the page puts the error beside it.
        Type(driver, "reading_score", "150");
        driver.FindElement(By.Id("predict-button")).Click();
        var fieldError = wait.Until(d => d.FindElement(By.Id("error-reading_score")).Text is { Length: > 0 } t ? t : null);
        var invalid = driver.FindElement(By.Id("field-reading_score")).GetAttribute("aria-invalid");
        var otherError = driver.FindElement(By.Id("error-writing_score")).Text;
        var staleScore = driver.FindElement(By.Id("result-score")).Text;
        var screenshotError = browser.Save("page-field-error.png");

        Assert.Equal(expected.ToString("F1", CultureInfo.InvariantCulture), shown);
        Assert.Equal(version, shownVersion);
        Assert.Contains("100", fieldError, StringComparison.Ordinal);
        Assert.Equal("true", invalid);
        Assert.Empty(otherError);
        Assert.DoesNotContain(".", staleScore, StringComparison.Ordinal);
        Assert.All([screenshotForm, screenshotResult, screenshotError], p => Assert.True(new FileInfo(p).Length > 10_000, p));
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
}
