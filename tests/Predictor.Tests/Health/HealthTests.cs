using Grpc.Core;
using Grpc.Health.V1;
using StudentPerformance.Predictor.Tests.Hosting;
using static Grpc.Health.V1.HealthCheckResponse.Types;
using HealthClient = Grpc.Health.V1.Health.HealthClient;

namespace StudentPerformance.Predictor.Tests.Health;

[Collection(ServedPredictorGroup.Name)]
public sealed class HealthTests(ServedPredictor server)
{
    [Theory]
    [InlineData("")]
    [InlineData("studentperformance.v1.Predictor")]
    public async Task Check_ModelLoaded_Serving(string service)
    {
        var client = new HealthClient(server.Channel);

        var reply = await client.CheckAsync(new HealthCheckRequest { Service = service });

        Assert.Equal(ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task Check_UnknownService_NotFound()
    {
        var client = new HealthClient(server.Channel);

        var error = await Assert.ThrowsAsync<RpcException>(() => client.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Watch_ModelLoaded_FirstAnswerIsServing()
    {
        var client = new HealthClient(server.Channel);
        using var cancel = new CancellationTokenSource();
        using var watch = client.Watch(new HealthCheckRequest { Service = "studentperformance.v1.Predictor" }, cancellationToken: cancel.Token);

        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));

        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
        await cancel.CancelAsync();
    }
}
