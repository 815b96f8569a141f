using System.Security.Cryptography;

namespace StudentPerformance.Predictor.Http;

/// <summary>
/// The browser form: three files embedded in the assembly (Http/Page), so the page ships inside the executable
/// and the Docker image with no wwwroot to copy. Read once at start, served from memory with an ETag.
/// </summary>
internal sealed class WebPage
{
    // Only this origin: no CDN, no inline script, nothing the page could be tricked into loading.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly (string Route, string Resource, string ContentType)[] Files =
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/assets/site.css", "site.css", "text/css; charset=utf-8"),
        ("/assets/site.js", "site.js", "text/javascript; charset=utf-8"),
    ];

    private readonly Dictionary<string, Asset> _assets;

    private WebPage(Dictionary<string, Asset> assets) => _assets = assets;

    public static WebPage LoadEmbedded()
    {
        var assembly = typeof(WebPage).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var (route, resource, contentType) in Files)
        {
            var name = "FrontDoor.Page." + resource;
            using var stream = assembly.GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"embedded resource '{name}' is missing from the build");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"";
            assets[route] = new Asset(bytes, contentType, etag);
        }

        return new WebPage(assets);
    }

    public void Map(IEndpointRouteBuilder endpoints)
    {
        foreach (var (route, _, _) in Files)
        {
            var asset = _assets[route];
            endpoints.MapMethods(route, [HttpMethods.Get, HttpMethods.Head], (HttpContext context) => Serve(context, asset))
                .WithMetadata(FrontDoorRouteMetadata.Instance)
                .ExcludeFromDescription();
        }
    }

    private static Task Serve(HttpContext context, Asset asset)
    {
        var response = context.Response;
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Bytes.Length;
        return HttpMethods.IsHead(context.Request.Method)
            ? Task.CompletedTask
            : response.Body.WriteAsync(asset.Bytes).AsTask();
    }

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
