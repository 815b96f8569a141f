using System.Net;
using System.Text.RegularExpressions;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>The page's files as a browser fetches them: served from the executable, nothing from elsewhere.</summary>
[Collection(FrontDoorGroup.Name)]
public sealed partial class PageTests(FrontDoorFixture fixture)
{
    [Theory]
    [InlineData("/", "text/html")]
    [InlineData("/assets/site.css", "text/css")]
    [InlineData("/assets/site.js", "text/javascript")]
    public async Task Get_PageFile_ServedWithTypeAndNoExternalReference(string path, string mediaType)
    {
        using var response = await fixture.Server.Http.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'none'", string.Join(";", response.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(ExternalUrl(), text);
    }

    [Fact]
    public async Task Get_PageWithCurrentETag_304()
    {
        using var first = await fixture.Server.Http.GetAsync(new Uri("/", UriKind.Relative));
        using var again = new HttpRequestMessage(HttpMethod.Get, new Uri("/", UriKind.Relative));
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);

        using var response = await fixture.Server.Http.SendAsync(again);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    // Any absolute or protocol-relative URL in src/href/url()/import/fetch: the page must load nothing from elsewhere.
    [GeneratedRegex(@"(src|href)\s*=\s*[""']?(https?:)?//|url\(\s*[""']?(https?:)?//|@import|fetch\(\s*[""'`](https?:)?//", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalUrl();
}
