using System.Net;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using StudentPerformance.Predictor.Hosting;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>/healthz and /readyz, and readiness agreeing with grpc.health.v1.</summary>
[Collection(FrontDoorGroup.Name)]
public sealed class HealthEndpointTests(FrontDoorFixture fixture)
{
    [Fact]
    public async Task Healthz_RunningServer_200()
    {
        using var response = await fixture.Server.Http.GetAsync(new Uri("/healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Readyz_WhileModelLoadsAndAfter_SameAnswerAsGrpcHealth()
    {
        using var gate = new ManualResetEventSlim();
        await using var server = await FrontDoorServer.StartAsync(
            fixture.ModelPath,
            services: s => s.AddSingleton<IModelSource>(new GatedModelSource(gate)),
            waitUntilReady: false);
        var health = new global::Grpc.Health.V1.Health.HealthClient(server.Grpc);

        using var loading = await server.Http.GetAsync(new Uri("/readyz", UriKind.Relative));
        using var liveWhileLoading = await server.Http.GetAsync(new Uri("/healthz", UriKind.Relative));
        var grpcLoading = await health.CheckAsync(new HealthCheckRequest());

        gate.Set();
        await server.WaitUntilReadyAsync();
        using var ready = await server.Http.GetAsync(new Uri("/readyz", UriKind.Relative));
        var grpcReady = await health.CheckAsync(new HealthCheckRequest());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, loading.StatusCode);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, grpcLoading.Status);
        Assert.Equal(HttpStatusCode.OK, liveWhileLoading.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, grpcReady.Status);
    }

    /// <summary>Loads the real model file, but only once the test opens the gate.</summary>
    private sealed class GatedModelSource(ManualResetEventSlim gate) : IModelSource
    {
        public ModelBundle Load(string path)
        {
            gate.Wait(TimeSpan.FromSeconds(60));
            return ModelBundle.Load(path);
        }
    }
}
