using Google.Rpc;
using Grpc.Core;
using StudentPerformance.Predictor.Tests.Hosting;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Grpc;

/// <summary>Every kind of bad input answers INVALID_ARGUMENT naming the field, and the server keeps serving.</summary>
[Collection(ServedPredictorGroup.Name)]
public sealed class ValidationTests(ServedPredictor server)
{
    public static TheoryData<string, string, string> BadStudents => new()
    {
        { "unknown gender", "student.gender", "\"female\", \"male\"" },
        { "missing gender", "student.gender", "is required" },
        { "unknown race", "student.race_ethnicity", "\"group A\"" },
        { "missing education", "student.parental_level_of_education", "\"master's degree\"" },
        { "unknown lunch", "student.lunch", "\"free/reduced\"" },
        { "unknown preparation", "student.test_preparation_course", "\"completed\"" },
        { "missing reading", "student.reading_score", "is required: a number from 0 to 100" },
        { "reading above range", "student.reading_score", "from 0 to 100, got 100.5" },
        { "writing below range", "student.writing_score", "from 0 to 100, got -1" },
        { "reading NaN", "student.reading_score", "not NaN" },
        { "writing infinity", "student.writing_score", "not Infinity" },
        { "reading minus infinity", "student.reading_score", "not -Infinity" },
        { "no student", "student", "is required" },
    };

    [Theory]
    [MemberData(nameof(BadStudents))]
    public async Task Predict_BadInput_InvalidArgumentNamingTheField(string problem, string field, string description)
    {
        var request = new PredictRequest { Student = BadStudent(problem) };

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.PredictAsync(request).ResponseAsync);

        var violation = Assert.Single(Violations(error));
        Assert.Equal(field, violation.Field);
        Assert.Contains(description, violation.Description, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Predict_SeveralBadFields_ReportsEachOne()
    {
        var student = ServedPredictor.ValidStudent();
        student.Gender = "robot";
        student.WritingScore = 250;

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.PredictAsync(new PredictRequest { Student = student }).ResponseAsync);

        Assert.Equal(["student.gender", "student.writing_score"], Violations(error).Select(v => v.Field));
    }

    [Fact]
    public async Task PredictBatch_Empty_InvalidArgumentNamingStudents()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.PredictBatchAsync(new PredictBatchRequest()).ResponseAsync);

        var violation = Assert.Single(Violations(error));
        Assert.Equal("students", violation.Field);
        Assert.Contains("at least 1", violation.Description, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task PredictBatch_OverMaxBatchSize_InvalidArgumentNamingTheLimit()
    {
        var request = new PredictBatchRequest();
        request.Students.AddRange(Enumerable.Range(0, 10_001).Select(_ => ServedPredictor.ValidStudent()));

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.PredictBatchAsync(request).ResponseAsync);

        var violation = Assert.Single(Violations(error));
        Assert.Equal("students", violation.Field);
        Assert.Contains("at most 10000", violation.Description, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task PredictBatch_BadStudentsInside_NamesEachByIndex()
    {
        var request = new PredictBatchRequest();
        request.Students.AddRange(Enumerable.Range(0, 10).Select(_ => ServedPredictor.ValidStudent()));
        request.Students[3].Gender = "robot";
        request.Students[7].ReadingScore = double.NaN;

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.PredictBatchAsync(request).ResponseAsync);

        Assert.Equal(["students[3].gender", "students[7].reading_score"], Violations(error).Select(v => v.Field));
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task PredictBatch_ThousandsOfBadStudents_ReportsABoundedList()
    {
        var request = new PredictBatchRequest();
        request.Students.AddRange(Enumerable.Range(0, 5_000).Select(_ => new Student { Gender = "robot" }));

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.PredictBatchAsync(request).ResponseAsync);

        Assert.Equal(20, Violations(error).Count);
        Assert.Contains("more", error.Status.Detail, StringComparison.Ordinal);
        await AssertStillServingAsync();
    }

    internal static IReadOnlyList<BadRequest.Types.FieldViolation> Violations(RpcException error)
    {
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        var status = error.GetRpcStatus();
        Assert.NotNull(status);
        var badRequest = status.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        return badRequest.FieldViolations;
    }

    private async Task AssertStillServingAsync()
    {
        var reply = await server.Client.PredictAsync(new PredictRequest { Student = ServedPredictor.ValidStudent() });
        Assert.InRange(reply.MathScore, 0, 100);
    }

    private static Student? BadStudent(string problem)
    {
        var student = ServedPredictor.ValidStudent();
        switch (problem)
        {
            case "unknown gender": student.Gender = "robot"; break;
            case "missing gender": student.Gender = ""; break;
            case "unknown race": student.RaceEthnicity = "group Z"; break;
            case "missing education": student.ParentalLevelOfEducation = ""; break;
            case "unknown lunch": student.Lunch = "free"; break;
            case "unknown preparation": student.TestPreparationCourse = "done"; break;
            case "missing reading": student.ClearReadingScore(); break;
            case "reading above range": student.ReadingScore = 100.5; break;
            case "writing below range": student.WritingScore = -1; break;
            case "reading NaN": student.ReadingScore = double.NaN; break;
            case "writing infinity": student.WritingScore = double.PositiveInfinity; break;
            case "reading minus infinity": student.ReadingScore = double.NegativeInfinity; break;
            case "no student": return null;
            default: throw new ArgumentOutOfRangeException(nameof(problem), problem, "unknown case");
        }

        return student;
    }
}
