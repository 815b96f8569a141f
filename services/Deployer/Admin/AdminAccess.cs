using System.Net;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Admin;

/// <summary>
/// Who may use the admin port, in two reusable pieces. <see cref="UseAdminRequestGuard"/> (middleware, every
/// request): the <c>Host</c> must be a loopback name with the port the request came in on (else 421: stops DNS
/// rebinding), and an <c>Origin</c> or <c>Sec-Fetch-Site</c> header must say the request comes from the admin URL
/// itself (else 403: stops a web page's cross-site POST). <see cref="RequireAdminToken"/> (endpoint filter): the
/// bearer token from <c>Deployer:Admin:TokenFile</c> (else 401).
/// </summary>
public static class AdminAccess
{
    /// <summary>Applies the Host and Origin rules to every request of the admin application.</summary>
    public static IApplicationBuilder UseAdminRequestGuard(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Use(static (context, next) =>
        {
            var refusal = Refusal(context.Request, context.Connection.LocalPort);
            if (refusal is null)
            {
                return next(context);
            }

            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminAccess).FullName!);
            Log.RequestRefused(logger, refusal.Value.Status, refusal.Value.Reason, context.Request.Method, context.Request.Path);
            context.Response.StatusCode = refusal.Value.Status;
            return context.Response.WriteAsync(refusal.Value.Reason + "\n");
        });
    }

    /// <summary>Requires <c>Authorization: Bearer &lt;token&gt;</c> on these endpoints (a group or a single one).</summary>
    public static TBuilder RequireAdminToken<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddEndpointFilter(static async (context, next) =>
        {
            var http = context.HttpContext;
            if (http.RequestServices.GetRequiredService<AdminToken>().Matches(BearerToken(http.Request)))
            {
                return await next(context).ConfigureAwait(false);
            }

            var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AdminAccess).FullName!);
            Log.RequestRefused(logger, StatusCodes.Status401Unauthorized, "no valid bearer token", http.Request.Method, http.Request.Path);
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Text($"a bearer token is required: the one in {AdminOptions.SectionName}:TokenFile\n", statusCode: StatusCodes.Status401Unauthorized);
        });
    }

    /// <summary>Like <see cref="RequireAdminToken"/>, unless <c>Deployer:Admin:OpenStatus</c> is true.</summary>
    public static TBuilder RequireAdminTokenUnlessOpenStatus<TBuilder>(this TBuilder builder, IServiceProvider services)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetRequiredService<IOptions<AdminOptions>>().Value.OpenStatus ? builder : builder.RequireAdminToken();
    }

    /// <summary>The answer to a request that fails the Host or Origin rule, or null when it passes.</summary>
    internal static (int Status, string Reason)? Refusal(HttpRequest request, int localPort)
    {
        if (!IsLoopbackHost(request.Host, localPort))
        {
            return (StatusCodes.Status421MisdirectedRequest, $"Host '{request.Host}' is not this loopback admin endpoint");
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && !string.Equals(origin, $"http://{request.Host}", StringComparison.OrdinalIgnoreCase))
        {
            return (StatusCodes.Status403Forbidden, $"Origin '{origin}' is not the admin endpoint itself");
        }

        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site is "cross-site" or "same-site")
        {
            return (StatusCodes.Status403Forbidden, $"Sec-Fetch-Site '{site}': requests from other sites are refused");
        }

        return null;
    }

    private static bool IsLoopbackHost(HostString host, int localPort)
    {
        if (!host.HasValue || (host.Port ?? 80) != localPort)
        {
            return false;
        }

        var name = host.Host.Trim('[', ']');
        return name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(name, out var address) && IPAddress.IsLoopback(address));
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }
}
