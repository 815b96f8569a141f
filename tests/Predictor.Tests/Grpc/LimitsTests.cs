using System.Net.Sockets;
using Grpc.Core;
using StudentPerformance.Predictor.Tests.Hosting;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Grpc;

/// <summary>Oversized messages, junk on the wire, deadlines and cancellation: refused cleanly, server unharmed.</summary>
[Collection(ServedPredictorGroup.Name)]
public sealed class LimitsTests(ServedPredictor server)
{
    [Fact]
    public async Task Predict_MessageOverReceiveLimit_ResourceExhaustedAndStillServing()
    {
        var student = ServedPredictor.ValidStudent();
        student.Gender = new string('x', 5 * 1024 * 1024);

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.PredictAsync(new PredictRequest { Student = student }).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task PredictBatch_DeadlineTooShort_DeadlineExceededAndStillServing()
    {
        var request = new PredictBatchRequest();
        request.Students.AddRange(Enumerable.Range(0, 10_000).Select(_ => ServedPredictor.ValidStudent()));
        var deadline = TimeProvider.System.GetUtcNow().UtcDateTime.AddMilliseconds(1);

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.PredictBatchAsync(request, deadline: deadline).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task PredictBatch_CancelledByCaller_CancelledAndStillServing()
    {
        var request = new PredictBatchRequest();
        request.Students.AddRange(Enumerable.Range(0, 10_000).Select(_ => ServedPredictor.ValidStudent()));
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.PredictBatchAsync(request, cancellationToken: cancel.Token).ResponseAsync);

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task GrpcPort_JunkBytesAndHttp1_RefusedAndStillServing()
    {
        using (var junk = new TcpClient())
        {
            await junk.ConnectAsync(server.Process.GrpcAddress.Host, server.Process.GrpcAddress.Port);
            var stream = junk.GetStream();
            await stream.WriteAsync(Enumerable.Range(0, 4096).Select(i => (byte)(i * 31)).ToArray());
            var buffer = new byte[1024];
            while (await stream.ReadAsync(buffer) > 0)
            {
                // Drain until the server drops the connection.
            }
        }

        using var http1 = new HttpClient();
        using var response = await http1.GetAsync(server.Process.GrpcAddress);

        Assert.False(response.IsSuccessStatusCode);
        await AssertStillServingAsync();
    }

    private async Task AssertStillServingAsync()
    {
        var reply = await server.Client.PredictAsync(new PredictRequest { Student = ServedPredictor.ValidStudent() });
        Assert.InRange(reply.MathScore, 0, 100);
    }
}
