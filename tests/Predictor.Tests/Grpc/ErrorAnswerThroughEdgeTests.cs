using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StudentPerformance.Predictor.Tests.Hosting;

namespace StudentPerformance.Predictor.Tests.Grpc;

/// <summary>
/// An error the predictor answers before reading the request (UNIMPLEMENTED for a method it lacks), through HAProxy 2.6
/// as the edge proxies it (h2 to h2), with the request body 20 ms behind its headers as grpc-dotnet can send it: the
/// client gets UNIMPLEMENTED, not the CANCEL HAProxy makes of Kestrel's reset after an answer to an unread request
/// (docs/edge.md, "Fixed: a call cut on a starved host"; bench/scripts/edge-early-answer.sh for the measurement).
/// </summary>
[Collection(ServedPredictorGroup.Name)]
public sealed class ErrorAnswerThroughEdgeTests(ServedPredictor predictor) : IAsyncLifetime
{
    private const int Calls = 60;
    private readonly string _directory = Directory.CreateTempSubdirectory("sp-early-error-").FullName;
    private readonly int _port = PredictorProcess.FreePort();
    private Process? _haproxy;

    public async Task InitializeAsync()
    {
        var config = Path.Combine(_directory, "haproxy.cfg");
        await File.WriteAllTextAsync(config, $"""
            defaults
                mode http
                timeout connect 2s
                timeout client 30s
                timeout server 30s
            frontend grpc
                bind 127.0.0.1:{_port} proto h2
                default_backend slot
            backend slot
                server slot {predictor.Process.GrpcAddress.Host}:{predictor.Process.GrpcAddress.Port} proto h2

            """);
        _haproxy = Process.Start(new ProcessStartInfo("haproxy", ["-db", "-f", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var started = TimeProvider.System.GetTimestamp();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, _port);
                return;
            }
            catch (SocketException) when (TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(20) && !_haproxy.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    public Task DisposeAsync()
    {
        if (_haproxy is { HasExited: false })
        {
            _haproxy.Kill();
        }

        _haproxy?.Dispose();
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task UnknownMethod_BodyBehindItsHeaders_ThroughHaproxy_AnswersUnimplemented()
    {
        using var http = new HttpClient();
        var statuses = new List<string>();

        for (var i = 0; i < Calls; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{_port}/studentperformance.v1.Predictor/NoSuchMethod")
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new LateBody([0, 0, 0, 0, 0], TimeSpan.FromMilliseconds(20)),
            };
            request.Content.Headers.ContentType = new("application/grpc");
            request.Headers.TryAddWithoutValidation("te", "trailers");
            try
            {
                using var response = await http.SendAsync(request);
                await response.Content.ReadAsByteArrayAsync();
                var status = response.Headers.TryGetValues("grpc-status", out var headers) ? headers.First()
                    : response.TrailingHeaders.TryGetValues("grpc-status", out var trailers) ? trailers.First()
                    : "(none)";
                statuses.Add(status);
            }
            catch (HttpRequestException ex)
            {
                statuses.Add(ex.InnerException?.Message ?? ex.Message);
            }
        }

        // 12: UNIMPLEMENTED, every time; a cut call reads "The HTTP/2 server reset the stream. HTTP/2 error code 'CANCEL'".
        Assert.True(statuses.All(s => s == "12"), string.Join("\n", statuses.GroupBy(s => s).Select(g => $"{g.Count()} x {g.Key}")));
    }

    /// <summary>The request's headers go out first and its body <paramref name="gap"/> later.</summary>
    private sealed class LateBody(byte[] body, TimeSpan gap) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.FlushAsync();
            await Task.Delay(gap);
            await stream.WriteAsync(body);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
