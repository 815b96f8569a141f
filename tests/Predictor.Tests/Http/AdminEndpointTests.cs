using System.Net;
using Grpc.Core;
using StudentPerformance.Features;
using StudentPerformance.Predictor.Tests.Hosting;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>The input sample on the real server: served on the Admin endpoint only, features only, replays excluded.</summary>
public sealed class AdminEndpointTests : IAsyncLifetime, IDisposable
{
    private readonly int _adminPort = FrontDoorServer.FreePort();
    private FrontDoorServer _server = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _server = await FrontDoorServer.StartAsync(PredictorProcess.DefaultModelPath, new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Admin:Url"] = $"http://127.0.0.1:{_adminPort}",
            ["Kestrel:Endpoints:Admin:Protocols"] = "Http1",
            ["Predictor:Shadow:SampleSize"] = "5",
        });
        _admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_adminPort}") };
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _admin.Dispose();

    [Fact]
    public async Task Sample_AfterPredictAndPredictBatch_ServesTheirFeaturesAsCsvOnTheAdminPort()
    {
        // Arrange
        var client = new V1.Predictor.PredictorClient(_server.Grpc);
        await client.PredictAsync(new PredictRequest { Student = Student(61) });
        var batch = new PredictBatchRequest();
        batch.Students.Add(Student(62));
        batch.Students.Add(Student(63));
        await client.PredictBatchAsync(batch);

        // Act
        using var response = await _admin.GetAsync(new Uri(ShadowSample.Path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();

        // Assert: the header and three rows, read back by the shared reader; no output, no client detail.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith(FeatureSchema.InputHeader + "\n", text, StringComparison.Ordinal);
        var rows = StudentCsv.Parse(new StringReader(text), requireLabel: false).Rows;
        Assert.Equal([61.0, 62.0, 63.0], rows.Select(r => r.ReadingScore));
        Assert.All(rows, r => Assert.Null(r.MathScore));
        Assert.Equal("group B", rows[0].RaceEthnicity);
    }

    [Fact]
    public async Task Sample_ReplayedBatchAndInvalidInput_AreNotSampled()
    {
        var client = new V1.Predictor.PredictorClient(_server.Grpc);
        var batch = new PredictBatchRequest();
        batch.Students.Add(Student(70));
        await client.PredictBatchAsync(batch, new Metadata { { ShadowSample.ReplayHeader, "1" } });
        await Assert.ThrowsAsync<RpcException>(async () => await client.PredictAsync(new PredictRequest { Student = new Student { Gender = "female" } }));

        var text = await _admin.GetStringAsync(new Uri(ShadowSample.Path, UriKind.Relative));

        Assert.Empty(StudentCsv.Parse(new StringReader(text), requireLabel: false).Rows);
    }

    [Fact]
    public async Task Sample_OnTheFrontDoorPort_IsNotFound()
    {
        await new V1.Predictor.PredictorClient(_server.Grpc).PredictAsync(new PredictRequest { Student = Student(61) });

        using var response = await _server.Http.GetAsync(new Uri(ShadowSample.Path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Sample_MoreInputsThanSampleSize_KeepsTheLatest()
    {
        var client = new V1.Predictor.PredictorClient(_server.Grpc);
        for (var i = 0; i < 8; i++)
        {
            await client.PredictAsync(new PredictRequest { Student = Student(10 + i) });
        }

        var text = await _admin.GetStringAsync(new Uri(ShadowSample.Path, UriKind.Relative));

        Assert.Equal([13.0, 14.0, 15.0, 16.0, 17.0], StudentCsv.Parse(new StringReader(text), requireLabel: false).Rows.Select(r => r.ReadingScore));
    }

    private static Student Student(double reading)
    {
        var student = ServedPredictor.ValidStudent();
        student.ReadingScore = reading;
        return student;
    }
}
