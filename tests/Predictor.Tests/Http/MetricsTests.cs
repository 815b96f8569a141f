using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Google.Protobuf;
using Grpc.Core;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>/metrics on a real server: scrapeable, and its gRPC series move with calls.</summary>
[Collection(FrontDoorGroup.Name)]
public sealed class MetricsTests(FrontDoorFixture fixture)
{
    private const string Predictor = "grpc_service=\"studentperformance.v1.Predictor\"";
    private readonly HttpClient _http = fixture.Server.Http;

    [Fact]
    public async Task Metrics_AfterGrpcAndRestCalls_CountsAndLatencyMovePerMethodAndStatus()
    {
        var client = new StudentPerformance.V1.Predictor.PredictorClient(fixture.Server.Grpc);
        var student = JsonParser.Default.Parse<Student>(RestTests.ValidStudent().ToJsonString());
        var before = await ScrapeAsync();

        for (var i = 0; i < 3; i++)
        {
            await client.PredictAsync(new PredictRequest { Student = student });
        }

        using (await _http.PostAsJsonAsync("/v1/predict", RestTests.ValidStudent()))
        {
        }

        var bad = student.Clone();
        bad.ReadingScore = 1000;
        await Assert.ThrowsAsync<RpcException>(() => client.PredictAsync(new PredictRequest { Student = bad }).ResponseAsync);
        var after = await ScrapeAsync();

        Assert.Equal(4, after.Value("grpc_server_handled_total", Predictor, "grpc_method=\"Predict\"", "grpc_code=\"OK\"")
            - before.Value("grpc_server_handled_total", Predictor, "grpc_method=\"Predict\"", "grpc_code=\"OK\""));
        Assert.Equal(1, after.Value("grpc_server_handled_total", Predictor, "grpc_method=\"Predict\"", "grpc_code=\"InvalidArgument\"")
            - before.Value("grpc_server_handled_total", Predictor, "grpc_method=\"Predict\"", "grpc_code=\"InvalidArgument\""));
        Assert.Equal(4, after.Value("grpc_server_handling_seconds_count", Predictor, "grpc_method=\"Predict\"", "grpc_code=\"OK\"")
            - before.Value("grpc_server_handling_seconds_count", Predictor, "grpc_method=\"Predict\"", "grpc_code=\"OK\""));
        Assert.True(after.Value("grpc_server_handling_seconds_sum", Predictor, "grpc_method=\"Predict\"", "grpc_code=\"OK\"") > 0);
        Assert.Equal(0, after.Value("grpc_server_in_flight_requests", Predictor, "grpc_method=\"Predict\""));
    }

    [Fact]
    public async Task Metrics_Scrape_PrometheusTextWithModelInfoAndProcessMetrics()
    {
        using var model = await _http.GetAsync(new Uri("/v1/model", UriKind.Relative));
        var version = (await RestTests.ReadJsonAsync(model))["modelVersion"]!.GetValue<string>();

        using var response = await _http.GetAsync(new Uri("/metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var scrape = new Scrape(await response.Content.ReadAsStringAsync());
        Assert.Equal(1, scrape.Value("predictor_model_info", $"version=\"{version}\""));
        Assert.True(scrape.Value("process_cpu_seconds_total") > 0);
        Assert.True(scrape.Value("process_working_set_bytes") > 0);
        Assert.Contains("# TYPE grpc_server_handling_seconds histogram", scrape.Text, StringComparison.Ordinal);
    }

    private async Task<Scrape> ScrapeAsync() =>
        new(await _http.GetStringAsync(new Uri("/metrics", UriKind.Relative)));

    /// <summary>A Prometheus text exposition, looked up by metric name and label pairs.</summary>
    private sealed class Scrape(string text)
    {
        public string Text { get; } = text;

        /// <summary>The sample whose name and labels match; 0 when the series does not exist yet.</summary>
        public double Value(string name, params string[] labels)
        {
            foreach (var line in Text.Split('\n'))
            {
                if (line.StartsWith('#') || !line.StartsWith(name, StringComparison.Ordinal))
                {
                    continue;
                }

                var rest = line[name.Length..];
                if (rest.Length == 0 || (rest[0] != '{' && rest[0] != ' '))
                {
                    continue;
                }

                if (labels.All(l => rest.Contains(l, StringComparison.Ordinal)))
                {
                    return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                }
            }

            return 0;
        }
    }
}
