using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StudentPerformance.Predictor.Hosting;
using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Tests.Hosting;
using StudentPerformance.V1;
using static Grpc.Health.V1.HealthCheckResponse.Types;
using HealthClient = Grpc.Health.V1.Health.HealthClient;

namespace StudentPerformance.Predictor.Tests.Health;

/// <summary>NOT_SERVING until the model is loaded and warmed, SERVING, then NOT_SERVING from the start of shutdown.</summary>
public sealed class HealthLifecycleTests
{
    private const string PredictorService = "studentperformance.v1.Predictor";

    [Fact]
    public async Task Watch_ModelHeldBack_NotServingThenServingOnceLoaded()
    {
        // The real composition on a real loopback Kestrel; only the model source waits for the test's signal.
        var source = new HeldBackModelSource();
        await using var app = await StartInProcessAsync(source);
        using var channel = GrpcChannel.ForAddress(Address(app));
        var health = new HealthClient(channel);
        var predictor = new StudentPerformance.V1.Predictor.PredictorClient(channel);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var watch = health.Watch(new HealthCheckRequest { Service = PredictorService }, cancellationToken: cancel.Token);

        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        Assert.Equal(ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
        var early = await Assert.ThrowsAsync<RpcException>(() => predictor.PredictAsync(new PredictRequest { Student = ServedPredictor.ValidStudent() }).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, early.StatusCode);

        source.Release();

        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
        Assert.Equal(ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        var reply = await predictor.PredictAsync(new PredictRequest { Student = ServedPredictor.ValidStudent() });
        Assert.InRange(reply.MathScore, 0, 100);

        await app.StopAsync(cancel.Token);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Sigterm_WhileWatched_WatchSeesNotServingAndProcessExitsZero()
    {
        await using var server = PredictorProcess.Start();
        await server.WaitUntilServingAsync();
        using var channel = server.CreateChannel();
        var health = new HealthClient(channel);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var watch = health.Watch(new HealthCheckRequest { Service = PredictorService }, cancellationToken: cancel.Token);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);

        server.Terminate();

        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        Assert.False(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.DoesNotContain(server.Output, line => line.Contains("fail:", StringComparison.Ordinal) || line.Contains("crit:", StringComparison.Ordinal));
    }

    private static async Task<WebApplication> StartInProcessAsync(IModelSource source)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Production",
            ContentRootPath = Directory.CreateTempSubdirectory("predictor-host-").FullName,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Grpc:Url"] = "http://127.0.0.1:0",
            ["Kestrel:Endpoints:Grpc:Protocols"] = "Http2",
            ["Predictor:ModelPath"] = PredictorProcess.DefaultModelPath,
        });
        builder.Services.AddSingleton<IModelSource>(source);
        builder.AddPredictor();
        var app = builder.Build();
        app.MapPredictor();
        await app.StartAsync();
        return app;
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());

    /// <summary>Loads the real model file, but only after <see cref="Release"/>.</summary>
    private sealed class HeldBackModelSource : IModelSource
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _released.TrySetResult();

        public ModelBundle Load(string path)
        {
            _released.Task.Wait(TimeSpan.FromSeconds(60));
            return ModelBundle.Load(path);
        }
    }
}
