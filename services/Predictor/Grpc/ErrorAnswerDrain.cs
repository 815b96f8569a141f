using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Predictor.Grpc;

/// <summary>
/// A gRPC error answered before the request was read (UNIMPLEMENTED for a method or service this build lacks) waits for the rest of the request before the answer ends. Kestrel follows a complete answer to an unread
/// request with <c>RST_STREAM(NO_ERROR)</c>, which HTTP/2 allows; but HAProxy 2.6, the edge, takes that reset while it
/// still forwards the body as a server abort, drops the answer and gives the client <c>CANCEL</c> instead of the real
/// status (docs/edge.md, "Fixed: a call cut on a starved host"). A client whose body trails its headers by a few
/// milliseconds (grpc-dotnet writes them apart) hits it often. This covers what reaches no method of this server (the
/// unimplemented answers, and anything else unrouted); the server's own methods read their request before they answer
/// and pass straight through.
/// </summary>
internal static class ErrorAnswerDrain
{
    /// <summary>How long an error answer waits for the rest of its request: a late body, not a client that streams on.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(1);

    /// <summary>Drains at most <c>Predictor:MaxReceiveMessageSize</c> bytes, for at most <see cref="Wait"/>.</summary>
    public static IApplicationBuilder UseErrorAnswerDrain(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Everything else passes straight through (a method the server has, REST, the page): no state machine, no
        // allocation on the hot paths.
        return app.Use((context, next) => IsUnroutedGrpc(context) ? AnswerThenDrainAsync(context, next) : next(context));
    }

    private static bool IsUnroutedGrpc(HttpContext context) =>
        context.Request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.Ordinal)
        && context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is null;

    private static async Task AnswerThenDrainAsync(HttpContext context, RequestDelegate next)
    {
        await next(context).ConfigureAwait(false);
        if (IsGrpcError(context) && !context.RequestAborted.IsCancellationRequested)
        {
            var maxBytes = context.RequestServices.GetRequiredService<IOptions<PredictorOptions>>().Value.MaxReceiveMessageSize;
            await DrainAsync(context, maxBytes).ConfigureAwait(false);
        }
    }

    private static bool IsGrpcError(HttpContext context)
    {
        // Trailers-only answers carry the status in the headers; the others in the trailers.
        var status = context.Response.Headers.GrpcStatus();
        if (string.IsNullOrEmpty(status) && context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers is { } trailers)
        {
            status = trailers.GrpcStatus();
        }

        return !string.IsNullOrEmpty(status) && status != "0";
    }

    private static string? GrpcStatus(this IHeaderDictionary headers) =>
        headers.TryGetValue("grpc-status", out var value) ? value.ToString() : null;

    private static async Task DrainAsync(HttpContext context, long maxBytes)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(Wait);
        var buffer = new byte[16 * 1024];
        long read = 0;
        try
        {
            int n;
            while (read <= maxBytes && (n = await context.Request.Body.ReadAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0)
            {
                read += n;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or BadHttpRequestException)
        {
            // Too slow, gone, or already read to its end by gRPC: the answer ends as it would have.
        }
    }
}
