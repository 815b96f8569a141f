using System.Net;
using StudentPerformance.Features;
using StudentPerformance.Predictor.Tests.Hosting;

namespace StudentPerformance.Predictor.Tests.Http;

public sealed class AdminEndpointOffTests
{
    [Fact]
    public async Task Sample_ShadowOff_AnswersNotFoundNamingTheKey()
    {
        var port = FrontDoorServer.FreePort();
        await using var server = await FrontDoorServer.StartAsync(PredictorProcess.DefaultModelPath, new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Admin:Url"] = $"http://127.0.0.1:{port}",
            ["Predictor:Shadow:Enabled"] = "false",
        });
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var response = await admin.GetAsync(new Uri(ShadowSample.Path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("Predictor:Shadow:Enabled", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
