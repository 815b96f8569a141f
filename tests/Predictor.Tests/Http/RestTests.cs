using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>REST/JSON through gRPC JSON transcoding on the HTTP/1.1 front door of a real server.</summary>
[Collection(FrontDoorGroup.Name)]
public sealed class RestTests(FrontDoorFixture fixture)
{
    private readonly HttpClient _http = fixture.Server.Http;

    internal static JsonObject ValidStudent() => new()
    {
        ["gender"] = "female",
        ["race_ethnicity"] = "group B",
        ["parental_level_of_education"] = "bachelor's degree",
        ["lunch"] = "standard",
        ["test_preparation_course"] = "none",
        ["reading_score"] = 72,
        ["writing_score"] = 74,
    };

    [Fact]
    public async Task PostPredict_ValidStudent_ReturnsScoreAndModelVersion()
    {
        var model = await GetJsonAsync("/v1/model");

        using var response = await _http.PostAsJsonAsync("/v1/predict", ValidStudent());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await ReadJsonAsync(response);
        var score = body["mathScore"]!.GetValue<double>();
        Assert.InRange(score, 55, 90);
        Assert.Equal(model["modelVersion"]!.GetValue<string>(), body["modelVersion"]!.GetValue<string>());
    }

    [Fact]
    public async Task PostPredict_JsonNamesInsteadOfProtoNames_SameScore()
    {
        // proto3 JSON accepts both the proto field names and their lowerCamelCase JSON names.
        var camel = new JsonObject
        {
            ["gender"] = "female",
            ["raceEthnicity"] = "group B",
            ["parentalLevelOfEducation"] = "bachelor's degree",
            ["lunch"] = "standard",
            ["testPreparationCourse"] = "none",
            ["readingScore"] = 72,
            ["writingScore"] = 74,
        };

        using var snake = await _http.PostAsJsonAsync("/v1/predict", ValidStudent());
        using var camelResponse = await _http.PostAsJsonAsync("/v1/predict", camel);

        Assert.Equal(HttpStatusCode.OK, camelResponse.StatusCode);
        Assert.Equal(
            (await ReadJsonAsync(snake))["mathScore"]!.GetValue<double>(),
            (await ReadJsonAsync(camelResponse))["mathScore"]!.GetValue<double>());
    }

    public static TheoryData<string, JsonNode?, string> BadStudents() => new()
    {
        { "gender", "robot", "student.gender" },
        { "lunch", null, "student.lunch" },
        { "race_ethnicity", "", "student.race_ethnicity" },
        { "reading_score", 150, "student.reading_score" },
        { "writing_score", -1, "student.writing_score" },
        { "reading_score", "NaN", "student.reading_score" },
        { "writing_score", "Infinity", "student.writing_score" },
        { "reading_score", null, "student.reading_score" },
    };

    [Theory]
    [MemberData(nameof(BadStudents))]
    public async Task PostPredict_BadField_400WithFieldViolationNamingIt(string key, JsonNode? value, string field)
    {
        var student = ValidStudent();
        if (value is null)
        {
            student.Remove(key);
        }
        else
        {
            student[key] = value;
        }

        using var response = await _http.PostAsJsonAsync("/v1/predict", student);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await ReadJsonAsync(response);
        Assert.Equal((int)StatusCode.InvalidArgument, body["code"]!.GetValue<int>());
        Assert.StartsWith(field, body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var detail = Assert.Single(body["details"]!.AsArray())!;
        Assert.Equal("type.googleapis.com/google.rpc.BadRequest", detail["@type"]!.GetValue<string>());
        var violation = Assert.Single(detail["fieldViolations"]!.AsArray())!;
        Assert.Equal(field, violation["field"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(violation["description"]!.GetValue<string>()));
    }

    [Fact]
    public async Task PostPredict_BadScore_SameMessageAsGrpc()
    {
        var student = ValidStudent();
        student["reading_score"] = 101;
        var client = new StudentPerformance.V1.Predictor.PredictorClient(fixture.Server.Grpc);
        var grpcError = await Assert.ThrowsAsync<RpcException>(() => client.PredictAsync(new PredictRequest
        {
            Student = Google.Protobuf.JsonParser.Default.Parse<Student>(student.ToJsonString()),
        }).ResponseAsync);

        using var response = await _http.PostAsJsonAsync("/v1/predict", student);

        var body = await ReadJsonAsync(response);
        Assert.Equal(StatusCode.InvalidArgument, grpcError.StatusCode);
        Assert.Equal(grpcError.Status.Detail, body["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task PostPredict_MalformedJson_400AndServerKeepsServing()
    {
        using var content = new StringContent("{\"gender\": \"female\", ", Encoding.UTF8, "application/json");

        using var response = await _http.PostAsync(new Uri("/v1/predict", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal((int)StatusCode.InvalidArgument, (await ReadJsonAsync(response))["code"]!.GetValue<int>());
        using var after = await _http.PostAsJsonAsync("/v1/predict", ValidStudent());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task PostPredictBatch_TwoStudents_ScoresInRequestOrder()
    {
        var strong = ValidStudent();
        strong["reading_score"] = 95;
        strong["writing_score"] = 96;
        var weak = ValidStudent();
        weak["reading_score"] = 30;
        weak["writing_score"] = 28;

        using var response = await _http.PostAsJsonAsync("/v1/predict:batch", new JsonObject { ["students"] = new JsonArray(strong, weak) });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var scores = (await ReadJsonAsync(response))["mathScores"]!.AsArray().Select(s => s!.GetValue<double>()).ToArray();
        Assert.Equal(2, scores.Length);
        Assert.True(scores[0] > scores[1], $"the strong student should score higher: {scores[0]} vs {scores[1]}");
    }

    [Fact]
    public async Task PostPredictBatch_Empty_400NamingStudents()
    {
        using var response = await _http.PostAsJsonAsync("/v1/predict:batch", new JsonObject { ["students"] = new JsonArray() });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var violation = (await ReadJsonAsync(response))["details"]![0]!["fieldViolations"]![0]!;
        Assert.Equal("students", violation["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task PostPredictBatch_BadSecondStudent_400NamingItsIndex()
    {
        var bad = ValidStudent();
        bad["lunch"] = "caviar";

        using var response = await _http.PostAsJsonAsync("/v1/predict:batch", new JsonObject { ["students"] = new JsonArray(ValidStudent(), bad) });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var violation = (await ReadJsonAsync(response))["details"]![0]!["fieldViolations"]![0]!;
        Assert.Equal("students[1].lunch", violation["field"]!.GetValue<string>());
    }

    [Fact]
    public async Task GetModel_ReturnsVersionMetricsAndSchema()
    {
        var model = await GetJsonAsync("/v1/model");

        Assert.Matches("^[0-9a-f]{16}$", model["modelVersion"]!.GetValue<string>());
        Assert.InRange(model["holdout"]!["r2"]!.GetValue<double>(), 0.8, 1.0);
        var categoricals = model["categoricalFields"]!.AsArray().ToDictionary(
            f => f!["name"]!.GetValue<string>(),
            f => f!["allowedValues"]!.AsArray().Select(v => v!.GetValue<string>()).ToArray());
        Assert.Equal(
            ["gender", "lunch", "parental_level_of_education", "race_ethnicity", "test_preparation_course"],
            categoricals.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("group E", categoricals["race_ethnicity"]);
        Assert.Contains("free/reduced", categoricals["lunch"]);
        var numerics = model["numericFields"]!.AsArray();
        Assert.Equal(["reading_score", "writing_score"], numerics.Select(f => f!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(numerics, f => Assert.Equal(100, f!["max"]!.GetValue<double>()));
    }

    private async Task<JsonNode> GetJsonAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    internal static async Task<JsonNode> ReadJsonAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())
        ?? throw new InvalidOperationException("empty JSON body");
}
