using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Deployer.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using StudentPerformance.Deployer.Hosting;

namespace StudentPerformance.Deployer.Tests.Admin;

/// <summary>
/// <c>Deployer status [--watch]</c> against a real Kestrel that answers GET /status with recorded documents, one per
/// request: what is printed and the exit code. The real deployer is followed in OperatorViewEndToEndTests.
/// </summary>
public class StatusCommandTests
{
    [Fact]
    public async Task Status_LastRolloutSucceeded_PrintsTheFactsAndExitsZero()
    {
        await using var server = await StatusServer.StartAsync(Document(Finished("r1", "Succeeded", ("pull", 2), ("candidate", 20))));
        using var output = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(["status", "--url", server.Url], output, TextWriter.Null);

        var text = output.ToString();
        Assert.Equal(0, exitCode);
        Assert.Contains("slot blue  model v1  sha256:aaaaaaaaaaaa", text, StringComparison.Ordinal);
        Assert.Contains("Candidate none", text, StringComparison.Ordinal);
        Assert.Contains("Succeeded", text, StringComparison.Ordinal);
        Assert.Contains("pull 2.0 s → candidate 20 s", text, StringComparison.Ordinal);
        Assert.Contains("Warnings  none", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Refused")]
    [InlineData("RolledBack")]
    [InlineData("Failed")]
    public async Task Status_LastRolloutDidNotSucceed_ExitsOne(string outcome)
    {
        var document = Document(Finished("r2", outcome, ("candidate", 3)), Finished("r1", "Succeeded"));
        document["warnings"] = new JsonArray(new JsonObject { ["kind"] = "quarantined", ["message"] = "sha256:bad is quarantined" });
        await using var server = await StatusServer.StartAsync(document);
        using var output = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(["status", "--url", server.Url], output, TextWriter.Null);

        Assert.Equal(1, exitCode);
        Assert.Contains("! quarantined: sha256:bad is quarantined", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_NoRolloutYet_ExitsZero()
    {
        await using var server = await StatusServer.StartAsync(Document());

        var exitCode = await DeployerCommandLine.InvokeAsync(["status", "--url", server.Url], TextWriter.Null, TextWriter.Null);

        Assert.Equal(0, exitCode);
    }

    [Fact]
    public async Task Status_NothingListening_ExitsThreeAndSaysWhere()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var error = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(["status", "--url", $"http://127.0.0.1:{port}"], TextWriter.Null, error);

        Assert.Equal(3, exitCode);
        Assert.Contains($"127.0.0.1:{port}/status", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_TokenRefused_ExitsThreeAndNamesTheOption_AndSendsTheFilesToken()
    {
        var token = Path.GetTempFileName();
        await File.WriteAllTextAsync(token, "s3cret\n");
        string? seen = null;
        var (app, address) = await LocalRegistryLoopback.StartAsync(a => a.MapGet("/status", (HttpContext c) =>
        {
            seen = c.Request.Headers.Authorization;
            return Results.StatusCode(401);
        }));
        await using var _ = app;
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(["status", "--url", address.ToString(), "--token-file", token], output, error);
        File.Delete(token);

        Assert.Equal(3, exitCode);
        Assert.Equal("Bearer s3cret", seen);
        Assert.Contains("--token-file", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", output.ToString() + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_RolloutInProgress_PrintsEachStepOnceThenTheOutcome()
    {
        await using var server = await StatusServer.StartAsync(
            Document(Running("r2", ("pull", null))),
            Document(Running("r2", ("pull", 2), ("candidate", null))),
            Document(Running("r2", ("pull", 2), ("candidate", null))),
            Document(Finished("r2", "Succeeded", ("pull", 2), ("candidate", 21), ("switch", 0.3))));
        using var output = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(["status", "--watch", "--url", server.Url, "--interval", "00:00:00.010"], output, TextWriter.Null);

        Assert.Equal(0, exitCode);
        Assert.Equal(
            [
                "Following rollout r2: new-digest of sha256:aaaaaaaaaaaaaaaa",
                "  pull …",
                "  pull passed in 2.0 s",
                "  candidate …",
                "  candidate passed in 21 s",
                "  switch passed in 0.3 s",
                "rollout r2 Succeeded in 23 s: detail of r2",
            ],
            output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Watch_RolloutRolledBack_PrintsTheFailedStepAndExitsOne()
    {
        await using var server = await StatusServer.StartAsync(
            Document(Running("r2", ("health gate", null))),
            Document(Finished("r2", "RolledBack", ("health gate", 5, "health gate failed: restarted"), ("switch back", 1))));
        using var output = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(["status", "-w", "--url", server.Url, "--interval", "00:00:00.010"], output, TextWriter.Null);

        Assert.Equal(1, exitCode);
        Assert.Contains("  health gate FAILED after 5.0 s: health gate failed: restarted", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("rollout r2 RolledBack", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_DeployerStopsAnsweringMidRollout_SaysSoOnceAndFollowsOnWhenItAnswers()
    {
        await using var server = await StatusServer.StartAsync(
            Document(Running("r2", ("pull", null))),
            null,
            null,
            Document(Finished("r2", "Succeeded", ("pull", 1))));
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(["status", "--watch", "--url", server.Url, "--interval", "00:00:00.010"], output, error);

        Assert.Equal(0, exitCode);
        Assert.Single(error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries), l => l.EndsWith("503; asking again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Watch_RolloutOutlastsTheTimeout_ExitsFour()
    {
        await using var server = await StatusServer.StartAsync(Document(Running("r2", ("bake", null))));
        using var error = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(["status", "--watch", "--url", server.Url, "--interval", "00:00:00.010", "--timeout", "00:00:00.200"], TextWriter.Null, error);

        Assert.Equal(4, exitCode);
        Assert.Contains("still runs after --timeout", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_NoRolloutInProgress_PrintsTheSummaryAndTheLastOutcome()
    {
        await using var server = await StatusServer.StartAsync(Document(Finished("r1", "Refused")));
        using var output = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(["status", "--watch", "--url", server.Url], output, TextWriter.Null);

        Assert.Equal(1, exitCode);
        Assert.Contains("Candidate none", output.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--interval", "status", "--interval", "soon")]
    [InlineData("--timeout", "status", "--watch", "--timeout", "-00:00:01")]
    [InlineData("--url", "status", "--url", "ftp://x")]
    public async Task Status_BadArguments_ExitTwoAndNameTheOption(string named, params string[] args)
    {
        using var error = new StringWriter();

        var exitCode = await DeployerCommandLine.InvokeAsync(args, TextWriter.Null, error);

        Assert.Equal(2, exitCode);
        Assert.Contains(named, error.ToString(), StringComparison.Ordinal);
    }

    private static JsonObject Document(params JsonObject[] history) => new()
    {
        ["trackedImage"] = "reg/app:latest",
        ["strategy"] = "BlueGreen",
        ["mode"] = "Deploy",
        ["paused"] = false,
        ["registryDigest"] = "sha256:aaaaaaaaaaaaaaaa",
        ["lastCheck"] = "2026-12-07T12:00:00+00:00",
        ["lastCheckResult"] = "up to date",
        ["live"] = new JsonObject { ["slot"] = "blue", ["digest"] = "sha256:aaaaaaaaaaaaaaaa", ["modelVersion"] = "v1", ["since"] = "2026-12-07T11:00:00+00:00" },
        ["edge"] = new JsonObject { ["reachable"] = true, ["servers"] = new JsonArray() },
        ["warnings"] = new JsonArray(),
        ["history"] = new JsonArray([.. history]),
    };

    private static JsonObject Running(string id, params (string Name, double? Seconds)[] steps) => Entry(id, null, [.. steps.Select(s => (s.Name, s.Seconds, (string?)null))]);

    private static JsonObject Finished(string id, string outcome, params (string Name, double Seconds)[] steps) =>
        Entry(id, outcome, [.. steps.Select(s => (s.Name, (double?)s.Seconds, (string?)null))]);

    private static JsonObject Finished(string id, string outcome, (string Name, double Seconds, string Error) failed, (string Name, double Seconds) then) =>
        Entry(id, outcome, [(failed.Name, failed.Seconds, failed.Error), (then.Name, then.Seconds, null)]);

    private static JsonObject Entry(string id, string? outcome, (string Name, double? Seconds, string? Error)[] steps) => new()
    {
        ["id"] = id,
        ["digest"] = "sha256:aaaaaaaaaaaaaaaa",
        ["kind"] = "new-digest",
        ["startedAt"] = "2026-12-07T12:00:00+00:00",
        ["steps"] = new JsonArray([.. steps.Select(s => new JsonObject
        {
            ["name"] = s.Name,
            ["startedAt"] = "2026-12-07T12:00:00+00:00",
            ["duration"] = s.Seconds is { } seconds ? TimeSpan.FromSeconds(seconds).ToString("c", System.Globalization.CultureInfo.InvariantCulture) : null,
            ["outcome"] = s.Seconds is null ? "Running" : s.Error is null ? "Passed" : "Failed",
            ["error"] = s.Error,
        })]),
        ["outcome"] = outcome,
        ["detail"] = outcome is null ? null : $"detail of {id}",
        ["duration"] = outcome is null ? null : TimeSpan.FromSeconds(steps.Sum(s => s.Seconds ?? 0)).ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        ["interrupted"] = false,
    };

    /// <summary>Answers each GET /status with the next document (the last one repeats); null answers 503.</summary>
    private sealed class StatusServer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private StatusServer(WebApplication app, Uri address)
        {
            _app = app;
            Url = address.ToString();
        }

        public string Url { get; }

        public static async Task<StatusServer> StartAsync(params JsonObject?[] documents)
        {
            var next = 0;
            var bodies = documents.Select(d => d?.ToJsonString()).ToArray();
            var (app, address) = await LocalRegistryLoopback.StartAsync(a => a.MapGet("/status", () =>
            {
                var body = bodies[Math.Min(Interlocked.Increment(ref next) - 1, bodies.Length - 1)];
                return body is null ? Results.StatusCode(503) : Results.Text(body, "application/json");
            }));
            return new StatusServer(app, address);
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
