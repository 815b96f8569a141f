using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Readiness;
using StudentPerformance.V1;

namespace Deployer.Tests.Readiness;

/// <summary>The shadow step's parts that need no model: the recorded sample, the skip rules and the BadRequest reading.</summary>
public sealed class ShadowGateTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("sp-sample-");

    [Fact]
    public void ReadSampleFile_TheAdminEndpointsCsv_ReadsEveryInput()
    {
        var path = Write("gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,reading_score,writing_score\n"
            + "female,group B,bachelor's degree,standard,none,72,74\nmale,group A,high school,free/reduced,completed,47.5,44\n");

        var sample = ShadowGate.ReadSampleFile(path);

        Assert.Null(sample.Problem);
        Assert.Equal(2, sample.Students.Count);
        Assert.Equal(new Student { Gender = "male", RaceEthnicity = "group A", ParentalLevelOfEducation = "high school", Lunch = "free/reduced", TestPreparationCourse = "completed", ReadingScore = 47.5, WritingScore = 44 },
            sample.Students[1]);
    }

    [Fact]
    public void ReadSampleFile_BadRowOrMissingFile_SaysWhereAndWhy()
    {
        var bad = Write("gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,reading_score,writing_score\nfemale,group B,x,standard,none,172,74\n");

        Assert.Equal($"'{bad}' line 2: reading_score 172 is outside 0..100", ShadowGate.ReadSampleFile(bad).Problem);
        Assert.Contains("cannot be read", ShadowGate.ReadSampleFile(Path.Combine(_folder.FullName, "none.csv")).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EvaluateAsync_FewerInputsThanMinSamples_SkipsWithAWarningNamingTheKey()
    {
        using var gate = Gate(new ShadowGateOptions { MinSamples = 3 });
        var sample = new InputSampleResult([new Student(), new Student()], "recorded.csv", null);

        // Unreachable addresses: a skipped step never calls a model.
        var report = await gate.EvaluateAsync("r1", new Uri("http://127.0.0.1:1"), new Uri("http://127.0.0.1:1"), sample, CancellationToken.None);

        Assert.Equal(ShadowReport.SkippedResult, report.Result);
        Assert.Equal(["shadow step skipped: the sample holds 2 recent inputs, fewer than Deployer:ShadowGate:MinSamples (3)"], report.Warnings);
        Assert.Equal("recorded.csv", report.Source);
    }

    [Fact]
    public async Task EvaluateAsync_NoSample_SkipsWithTheProblem()
    {
        using var gate = Gate(new ShadowGateOptions());

        var report = await gate.EvaluateAsync("r1", new Uri("http://127.0.0.1:1"), new Uri("http://127.0.0.1:1"),
            new InputSampleResult([], "http://127.0.0.1:1/admin/sample", "http://127.0.0.1:1/admin/sample answered 404"), CancellationToken.None);

        Assert.Equal(ShadowReport.SkippedResult, report.Result);
        Assert.Contains("answered 404", Assert.Single(report.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchSampleAsync_NothingListening_IsAProblemNotAnException()
    {
        using var gate = Gate(new ShadowGateOptions { Timeout = TimeSpan.FromSeconds(2) });
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var sample = await gate.FetchSampleAsync(new Uri($"http://127.0.0.1:{port}"), CancellationToken.None);

        Assert.Empty(sample.Students);
        Assert.Contains("cannot be reached", sample.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchSampleAsync_ServerThatNeverAnswers_StopsAtTheTimeoutNamingTheKey()
    {
        using var gate = Gate(new ShadowGateOptions { Timeout = TimeSpan.FromMilliseconds(300) });
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;

        var sample = await gate.FetchSampleAsync(new Uri($"http://127.0.0.1:{port}"), CancellationToken.None);

        Assert.Contains("did not answer within Deployer:ShadowGate:Timeout", sample.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectedIndices_BadRequestDetails_AreTheStudentsNamedInTheViolations()
    {
        var badRequest = new BadRequest
        {
            FieldViolations =
            {
                new BadRequest.Types.FieldViolation { Field = "students[3].race_ethnicity", Description = "not allowed" },
                new BadRequest.Types.FieldViolation { Field = "students[3].gender", Description = "not allowed" },
                new BadRequest.Types.FieldViolation { Field = "students[11].lunch", Description = "not allowed" },
                new BadRequest.Types.FieldViolation { Field = "students[99].lunch", Description = "past the batch" },
                new BadRequest.Types.FieldViolation { Field = "students", Description = "too many" },
            },
        };
        var status = new Google.Rpc.Status { Code = 3, Message = "bad", Details = { Any.Pack(badRequest) } };
        var error = new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, "bad"), new Metadata { { "grpc-status-details-bin", status.ToByteArray() } });

        Assert.Equal([3, 11], ShadowGate.RejectedIndices(error, batchSize: 20).Order());
    }

    public void Dispose() => _folder.Delete(recursive: true);

    private static ShadowGate Gate(ShadowGateOptions options) => new(Options.Create(options), TimeProvider.System, NullLogger<ShadowGate>.Instance);

    private string Write(string text)
    {
        var path = Path.Combine(_folder.FullName, "sample.csv");
        File.WriteAllText(path, text);
        return path;
    }
}
