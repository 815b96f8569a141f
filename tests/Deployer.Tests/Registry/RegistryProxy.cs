using System.Collections.Concurrent;
using Deployer.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Deployer.Tests.Registry;

/// <summary>A pass-through proxy to a real registry that records auth schemes and can drop Docker-Content-Digest.</summary>
internal sealed class RegistryProxy : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly ConcurrentQueue<string> _schemes;

    private RegistryProxy(WebApplication app, Uri address, HttpClient upstream, ConcurrentQueue<string> schemes)
    {
        _app = app;
        _upstream = upstream;
        _schemes = schemes;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>The scheme of every Authorization header the registry was sent ("none" when absent).</summary>
    public IReadOnlyList<string> AuthorizationSchemes => [.. _schemes];

    public static async Task<RegistryProxy> StartAsync(Uri registry, bool dropDigestHeader)
    {
        var upstream = new HttpClient();
        var schemes = new ConcurrentQueue<string>();
        var (app, address) = await LocalRegistryLoopback.StartAsync(app => app.Map("/v2/{**path}", async context =>
        {
            using var forward = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(registry, context.Request.Path + context.Request.QueryString));
            foreach (var accept in context.Request.Headers.Accept)
            {
                forward.Headers.TryAddWithoutValidation("Accept", accept);
            }

            var authorization = context.Request.Headers.Authorization.ToString();
            schemes.Enqueue(authorization.Length == 0 ? "none" : authorization.Split(' ')[0]);
            if (authorization.Length > 0)
            {
                forward.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            using var response = await upstream.SendAsync(forward);
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            foreach (var challenge in response.Headers.WwwAuthenticate)
            {
                context.Response.Headers.Append("WWW-Authenticate", challenge.ToString());
            }

            if (!dropDigestHeader && response.Headers.TryGetValues("Docker-Content-Digest", out var digest))
            {
                context.Response.Headers["Docker-Content-Digest"] = digest.First();
            }

            if (!HttpMethods.IsHead(context.Request.Method))
            {
                await context.Response.Body.WriteAsync(await response.Content.ReadAsByteArrayAsync());
            }
        }));
        return new RegistryProxy(app, address, upstream, schemes);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}
