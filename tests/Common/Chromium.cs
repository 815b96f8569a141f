using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace StudentPerformance.TestSupport;

/// <summary>
/// Headless Chromium (Debian's chromium and chromedriver, scripts/setup-host.sh) that can reach nothing but loopback,
/// with a private profile removed on dispose. Screenshots go to artifacts/screenshots/. Linked into the test projects
/// that drive a browser (tests/Deployer.Tests, tests/Predictor.Tests).
/// </summary>
public sealed class Chromium : IDisposable
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string ChromedriverPath = "/usr/bin/chromedriver";
    private readonly DirectoryInfo _profile = Directory.CreateTempSubdirectory("sp-chromium-");

    /// <param name="width">Window width.</param>
    /// <param name="height">Window height.</param>
    /// <param name="arguments">More switches, such as a pinned test certificate.</param>
    public Chromium(int width, int height, params string[] arguments)
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
            "--hide-scrollbars",
            // No host name resolves: only the loopback deployer is reachable, so a CDN reference would fail to load.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            $"--window-size={width},{height}",
            $"--user-data-dir={_profile.FullName}");
        options.AddArguments(arguments);
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    public ChromeDriver Driver { get; }

    public static string ScreenshotDirectory => Path.Combine(RepositoryRoot(), "artifacts", "screenshots");

    /// <summary>The text of the element with <paramref name="id"/>, or null while it is missing.</summary>
    public string? Text(string id)
    {
        try
        {
            return Driver.FindElement(By.Id(id)).Text;
        }
        catch (Exception ex) when (ex is NoSuchElementException or StaleElementReferenceException)
        {
            return null;
        }
    }

    public IReadOnlyList<IWebElement> All(string css) => Driver.FindElements(By.CssSelector(css));

    /// <summary>
    /// Waits for <paramref name="condition"/>; on timeout the failure names what was awaited and carries the page's visible
    /// text and a screenshot, so a slow or stuck page can be told apart afterwards.
    /// </summary>
    public T Until<T>(string what, TimeSpan timeout, Func<IWebDriver, T> condition)
    {
        try
        {
            return new OpenQA.Selenium.Support.UI.WebDriverWait(Driver, timeout).Until(condition);
        }
        catch (WebDriverTimeoutException ex)
        {
            string page, shot;
            try
            {
                page = Driver.FindElement(By.TagName("body")).Text;
                shot = Save("timeout-" + string.Concat(what.Select(c => char.IsLetterOrDigit(c) ? c : '-')) + ".png");
            }
            catch (WebDriverException inner)
            {
                page = $"(the page could not be read: {inner.Message})";
                shot = "none";
            }

            throw new TimeoutException($"Timed out after {timeout} waiting for {what}. Screenshot: {shot}. The page read:\n{page}", ex);
        }
    }

    public string Save(string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        var path = Path.Combine(ScreenshotDirectory, name);
        Driver.GetScreenshot().SaveAsFile(path);
        return path;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StudentPerformance.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("StudentPerformance.slnx not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        try
        {
            _profile.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still hold a lock file for a moment; a leftover temp profile is harmless.
        }
    }
}
