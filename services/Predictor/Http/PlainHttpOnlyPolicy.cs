using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Routing.Matching;

namespace StudentPerformance.Predictor.Http;

/// <summary>Marks an endpoint as part of the front door: not served on the h2c gRPC port.</summary>
internal sealed class FrontDoorRouteMetadata
{
    public static readonly FrontDoorRouteMetadata Instance = new();
}

/// <summary>
/// Keeps the front door (page, /metrics, health, REST) off the gRPC port. That port is the only one that speaks
/// cleartext HTTP/2 (h2c); the front door answers HTTP/1.1 on 8080 and HTTPS on the optional TLS port. Deciding
/// by protocol rather than by port number keeps this right whatever the ports are configured to, and the policy
/// only looks at front-door candidates, so native gRPC routing never pays for it.
/// </summary>
internal sealed class PlainHttpOnlyPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    // After the HTTP method policy, so a wrong verb still answers 405 where it would anyway.
    public override int Order => 1000;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach (var endpoint in endpoints)
        {
            if (IsFrontDoor(endpoint))
            {
                return true;
            }
        }

        return false;
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(candidates);
        if (!IsCleartextHttp2(httpContext.Request))
        {
            return Task.CompletedTask;
        }

        for (var i = 0; i < candidates.Count; i++)
        {
            if (candidates.IsValidCandidate(i) && IsFrontDoor(candidates[i].Endpoint))
            {
                candidates.SetValidity(i, false);
            }
        }

        return Task.CompletedTask;
    }

    internal static bool IsCleartextHttp2(HttpRequest request) =>
        !request.IsHttps && HttpProtocol.IsHttp2(request.Protocol);

    // A transcoded REST route carries the gRPC method it calls, under a route of its own ("/v1/predict"); a
    // native gRPC route is the method's full name ("/studentperformance.v1.Predictor/Predict").
    private static bool IsFrontDoor(Endpoint endpoint) =>
        endpoint.Metadata.GetMetadata<FrontDoorRouteMetadata>() is not null
        || (endpoint is RouteEndpoint route
            && endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpc
            && !string.Equals(route.RoutePattern.RawText, grpc.Method.FullName, StringComparison.Ordinal));
}
