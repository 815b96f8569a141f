using System.Security.Cryptography;

namespace StudentPerformance.Deployer.Admin;

/// <summary>
/// Marks the dashboard's static files. They hold no data and no secret (everything the page shows comes from
/// GET /status, which carries the admin API's authentication), so an authentication filter lets them through: the page
/// must load to ask for the token.
/// </summary>
public sealed class DashboardAssetMetadata
{
    public static readonly DashboardAssetMetadata Instance = new();

    private DashboardAssetMetadata()
    {
    }
}

/// <summary>
/// The rollout dashboard at GET /: three files embedded in the assembly (Admin/Dashboard), served from memory with an
/// ETag and a Content-Security-Policy that allows nothing but this origin: no CDN, no inline script or style, no frame.
/// </summary>
internal sealed class DashboardPage
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly (string Route, string Resource, string ContentType)[] Files =
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/dashboard/app.css", "app.css", "text/css; charset=utf-8"),
        ("/dashboard/app.js", "app.js", "text/javascript; charset=utf-8"),
    ];

    private readonly Dictionary<string, Asset> _assets;

    private DashboardPage(Dictionary<string, Asset> assets) => _assets = assets;

    public static DashboardPage LoadEmbedded()
    {
        var assembly = typeof(DashboardPage).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var (route, resource, contentType) in Files)
        {
            var name = "Dashboard." + resource;
            using var stream = assembly.GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"embedded resource '{name}' is missing from the build");
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            assets[route] = new Asset(bytes, contentType, "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"");
        }

        return new DashboardPage(assets);
    }

    public void Map(IEndpointRouteBuilder endpoints)
    {
        foreach (var (route, _, _) in Files)
        {
            var asset = _assets[route];
            endpoints.MapMethods(route, [HttpMethods.Get, HttpMethods.Head], (HttpContext context) => Serve(context, asset))
                .WithMetadata(DashboardAssetMetadata.Instance);
        }
    }

    private static Task Serve(HttpContext context, Asset asset)
    {
        var response = context.Response;
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Bytes.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(asset.Bytes).AsTask();
    }

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
