using System.Net;
using System.Net.Http.Headers;
using Deployer.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Admin;


namespace Deployer.Tests.Admin;

/// <summary>
/// The admin API's access rules on a real deployer (the same composition as Program.cs, on a loopback port):
/// the bearer token, the Host rule against DNS rebinding, and the Origin rule against a web page's cross-site POST.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AdminAccessTests : IAsyncLifetime
{
    private RolloutRig _rig = null!;
    private DeployerInstance _deployer = null!;

    public async Task InitializeAsync()
    {
        _rig = await RolloutRig.StartAsync();
        _deployer = await _rig.StartDeployerAsync(new Dictionary<string, string?> { ["Deployer:Mode"] = "Monitor" });
    }

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Theory]
    [InlineData("/deploy")]
    [InlineData("/rollback")]
    [InlineData("/pause")]
    [InlineData("/resume")]
    public async Task Command_WithoutOrWithWrongToken_Is401AndChangesNothing(string path)
    {
        var without = await SendAsync(HttpMethod.Post, path);
        var wrong = await SendAsync(HttpMethod.Post, path, token: _rig.AdminToken + "x");

        Assert.Equal(HttpStatusCode.Unauthorized, without);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong);
        Assert.False(_deployer.Logs.Contains("Admin command"), _deployer.Logs.Text);
    }

    [Fact]
    public async Task Command_WithTheToken_IsAccepted()
    {
        var paused = await SendAsync(HttpMethod.Post, "/pause", token: _rig.AdminToken);

        Assert.Equal(HttpStatusCode.OK, paused);
        Assert.True((await _deployer.StatusAsync()).GetProperty("paused").GetBoolean());
    }

    [Fact]
    public async Task StatusAndMetrics_NeedTheToken_HealthzDoesNot()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, "/status"));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, "/metrics"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/status", token: _rig.AdminToken));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/healthz"));
    }

    [Fact]
    public async Task ForeignOrigin_Is403EvenWithTheToken()
    {
        var status = await SendAsync(HttpMethod.Get, "/status", token: _rig.AdminToken, origin: "http://evil.example");

        Assert.Equal(HttpStatusCode.Forbidden, status);
    }

    [Fact]
    public async Task ForeignHost_Is421EvenWithTheToken()
    {
        // DNS rebinding: the browser sends the attacker's host name to our loopback address.
        var status = await SendAsync(HttpMethod.Get, "/status", token: _rig.AdminToken, host: $"evil.example:{_deployer.Admin.Port}");

        Assert.Equal(HttpStatusCode.MisdirectedRequest, status);
    }

    [Fact]
    public async Task CsrfNoCorsPost_IsRefusedAndNothingIsEnqueued()
    {
        // What fetch("http://127.0.0.1:9090/rollback", {method: "POST", mode: "no-cors"}) on another site sends.
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_deployer.Admin, "/rollback")) { Content = new StringContent("", null, "text/plain") };
        request.Headers.Add("Origin", "https://evil.example");
        request.Headers.Add("Sec-Fetch-Site", "cross-site");
        request.Headers.Add("Sec-Fetch-Mode", "no-cors");
        using var http = new HttpClient();

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(_deployer.Logs.Contains("Admin command"), _deployer.Logs.Text);
        var status = await _deployer.StatusAsync();
        Assert.Equal(0, status.GetProperty("quarantined").GetArrayLength());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, status.GetProperty("lastRollout").ValueKind);
    }

    [Fact]
    public void TokenFile_IsCreatedOwnerOnly_AndNeverLogged()
    {
        var path = Path.Combine(_rig.StateDirectory, AdminOptions.DefaultTokenFileName);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.True(_rig.AdminToken.Length >= 32);
        Assert.False(_deployer.Logs.Contains(_rig.AdminToken));
    }

    [Theory]
    [InlineData("http://0.0.0.0:9090")]
    [InlineData("http://10.0.0.5:9090")]
    public async Task NonLoopbackAdminUrl_StopsTheStartNamingTheKey(string url)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => _rig.StartDeployerAsync(new Dictionary<string, string?> { ["Deployer:Admin:Url"] = url }));

        Assert.Contains("Deployer:Admin:Url", error.Message, StringComparison.Ordinal);
        Assert.Contains("loopback", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenFileOthersCanRead_StopsTheStartNamingTheKey()
    {
        var file = Path.Combine(_rig.StateDirectory, "shared-token");
        await File.WriteAllTextAsync(file, new string('t', 40));
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _rig.StartDeployerAsync(new Dictionary<string, string?> { ["Deployer:Admin:TokenFile"] = file }));

        Assert.Contains("Deployer:Admin:TokenFile", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:9090", null, null, 9090, null)]
    [InlineData("localhost:9090", "http://localhost:9090", null, 9090, null)]
    [InlineData("[::1]:9090", null, "same-origin", 9090, null)]
    [InlineData("127.0.0.1:9091", null, null, 9090, 421)]
    [InlineData("127.0.0.1", null, null, 9090, 421)]
    [InlineData("rebind.example:9090", null, null, 9090, 421)]
    [InlineData("127.0.0.1:9090", "null", null, 9090, 403)]
    [InlineData("127.0.0.1:9090", "http://127.0.0.1:9091", null, 9090, 403)]
    [InlineData("127.0.0.1:9090", null, "cross-site", 9090, 403)]
    public void Refusal_HostAndOriginRules(string host, string? origin, string? fetchSite, int localPort, int? expected)
    {
        var request = new DefaultHttpContext().Request;
        request.Host = new HostString(host);
        if (origin is not null)
        {
            request.Headers.Origin = origin;
        }

        if (fetchSite is not null)
        {
            request.Headers["Sec-Fetch-Site"] = fetchSite;
        }

        Assert.Equal(expected, AdminAccess.Refusal(request, localPort)?.Status);
    }

    private async Task<HttpStatusCode> SendAsync(HttpMethod method, string path, string? token = null, string? origin = null, string? host = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var request = new HttpRequestMessage(method, new Uri(_deployer.Admin, path));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (host is not null)
        {
            request.Headers.Host = host;
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }
}
