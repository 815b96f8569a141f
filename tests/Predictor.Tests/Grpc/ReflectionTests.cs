using Grpc.Reflection.V1Alpha;
using StudentPerformance.Predictor.Tests.Hosting;

namespace StudentPerformance.Predictor.Tests.Grpc;

/// <summary>What grpcurl needs with no proto files: list, describe, and the types to build a request.</summary>
[Collection(ServedPredictorGroup.Name)]
public sealed class ReflectionTests(ServedPredictor server)
{
    [Fact]
    public async Task ListServices_Always_ListsPredictorHealthAndReflection()
    {
        var reply = await AskAsync(new ServerReflectionRequest { ListServices = "" });

        var names = reply.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("studentperformance.v1.Predictor", names);
        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1alpha.ServerReflection", names);
    }

    [Fact]
    public async Task FileContainingSymbol_Predictor_ReturnsItsDescriptor()
    {
        var reply = await AskAsync(new ServerReflectionRequest { FileContainingSymbol = "studentperformance.v1.Predictor" });

        var files = reply.FileDescriptorResponse.FileDescriptorProto
            .Select(bytes => Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(bytes))
            .ToList();
        var contract = Assert.Single(files, f => f.Package == "studentperformance.v1");
        var service = Assert.Single(contract.Service);
        Assert.Equal(["Predict", "PredictBatch", "GetModelInfo"], service.Method.Select(m => m.Name));
        Assert.Contains(contract.MessageType, m => m.Name == "Student");
    }

    private async Task<ServerReflectionResponse> AskAsync(ServerReflectionRequest request)
    {
        var client = new ServerReflection.ServerReflectionClient(server.Channel);
        using var call = client.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return call.ResponseStream.Current;
    }
}
