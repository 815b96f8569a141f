using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>The gRPC port speaks gRPC only; the front door lives on the HTTP/1.1 port.</summary>
[Collection(FrontDoorGroup.Name)]
public sealed class PortSeparationTests(FrontDoorFixture fixture)
{
    [Theory]
    [InlineData("/")]
    [InlineData("/metrics")]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/v1/model")]
    public async Task GrpcPort_FrontDoorRoute_404(string path)
    {
        // Cleartext HTTP/2 with prior knowledge: what an h2c client sends to port 8000.
        using var h2c = new HttpClient
        {
            BaseAddress = fixture.Server.GrpcAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var onGrpcPort = await h2c.GetAsync(new Uri(path, UriKind.Relative));
        using var onHttpPort = await fixture.Server.Http.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, onGrpcPort.StatusCode);
        Assert.Equal(HttpStatusCode.OK, onHttpPort.StatusCode);
    }

    [Fact]
    public async Task GrpcPort_NativeGrpcCall_StillServed()
    {
        var client = new StudentPerformance.V1.Predictor.PredictorClient(fixture.Server.Grpc);

        var info = await client.GetModelInfoAsync(new GetModelInfoRequest());

        Assert.Equal(5, info.CategoricalFields.Count);
    }

    [Fact]
    public async Task HttpPort_NativeGrpcOverHttp11_426UpgradeRequired()
    {
        // gRPC needs HTTP/2; on the HTTP/1.1 port a native call cannot work, and must not look like it did.
        var message = new PredictRequest { Student = JsonParser.Default.Parse<Student>(RestTests.ValidStudent().ToJsonString()) }.ToByteArray();
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        using var content = new ByteArrayContent(frame);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");

        using var response = await fixture.Server.Http.PostAsync(new Uri("/studentperformance.v1.Predictor/Predict", UriKind.Relative), content);

        // Kestrel's gRPC answer to HTTP/1.1: 426 Upgrade Required, "Request protocol 'HTTP/1.1' is not supported".
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.NotEqual("0", response.Headers.GetValues("grpc-status").Single());
    }
}
