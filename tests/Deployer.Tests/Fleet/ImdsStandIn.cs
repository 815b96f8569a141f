using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Deployer.Tests.Fleet;

/// <summary>
/// IMDSv2 as EC2 answers it, on loopback: <c>PUT /latest/api/token</c> with a TTL header hands out a token, and the
/// instance id is served only to a request that carries it (as IMDSv2 with HttpTokens=required does).
/// </summary>
internal sealed class ImdsStandIn : IAsyncDisposable
{
    private const string Token = "imds-token-1";
    private readonly WebApplication _app;
    private readonly List<string> _calls = [];

    private ImdsStandIn(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    public static async Task<ImdsStandIn> StartAsync(string instanceId)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        ImdsStandIn? self = null;
        app.MapPut("/latest/api/token", (HttpRequest request) =>
        {
            self!.Record("PUT /latest/api/token");
            return request.Headers.ContainsKey("X-aws-ec2-metadata-token-ttl-seconds") ? Results.Text(Token) : Results.BadRequest();
        });
        app.MapGet("/latest/meta-data/instance-id", (HttpRequest request) =>
        {
            var ok = request.Headers["X-aws-ec2-metadata-token"] == Token;
            self!.Record($"GET /latest/meta-data/instance-id{(ok ? " (token)" : "")}");
            return ok ? Results.Text(instanceId) : Results.StatusCode(StatusCodes.Status401Unauthorized);
        });
        await app.StartAsync();
        var url = app.Urls.First();
        self = new ImdsStandIn(app, url);
        return self;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private void Record(string call)
    {
        lock (_calls)
        {
            _calls.Add(call);
        }
    }
}
