using System.Net;
using System.Text.RegularExpressions;
using Deployer.Tests.Support;
using StudentPerformance.Deployer.Admin;

namespace StudentPerformance.Deployer.Tests.Admin;

/// <summary>The dashboard's files as a browser gets them: this origin only, a strict policy, cacheable by ETag.</summary>
public partial class DashboardPageTests
{
    [Theory]
    [InlineData("/", "text/html")]
    [InlineData("/dashboard/app.css", "text/css")]
    [InlineData("/dashboard/app.js", "text/javascript")]
    public async Task Get_EachFile_ServedWithAStrictPolicyAndNoExternalReference(string path, string contentType)
    {
        var (app, address) = await LocalRegistryLoopback.StartAsync(a => DashboardPage.LoadEmbedded().Map(a));
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = address };

        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith(contentType, response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        var policy = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        // The only absolute URL allowed is SVG's namespace, a name and never a request.
        Assert.Equal([], ExternalUrl().Matches(body).Select(m => m.Value).Where(u => u != "http://www.w3.org/2000/svg").ToList());
        Assert.DoesNotContain("<script>", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" style=", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_SameETag_NotModified()
    {
        var (app, address) = await LocalRegistryLoopback.StartAsync(a => DashboardPage.LoadEmbedded().Map(a));
        await using var _ = app;
        using var http = new HttpClient { BaseAddress = address };
        using var first = await http.GetAsync(new Uri("/", UriKind.Relative));
        using var again = new HttpRequestMessage(HttpMethod.Get, new Uri("/", UriKind.Relative));
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);

        using var response = await http.SendAsync(again);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [GeneratedRegex(@"(https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}[^\s""')]*")]
    private static partial Regex ExternalUrl();
}
