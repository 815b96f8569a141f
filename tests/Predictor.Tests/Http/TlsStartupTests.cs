using StudentPerformance.Predictor.Tests.Hosting;

namespace StudentPerformance.Predictor.Tests.Http;

/// <summary>The real executable with an unusable TLS setting: exit 1 and one critical line naming the key.</summary>
public sealed class TlsStartupTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("front-door-tls-start-");

    [Theory]
    [InlineData("missing", "FrontDoor:Tls:CertificatePath")]
    [InlineData("not-a-certificate", "FrontDoor:Tls:CertificatePath")]
    [InlineData("address", "FrontDoor:Tls:Address")]
    [InlineData("port", "FrontDoor:Tls:Port")]
    public async Task Start_BadTlsSetting_ExitsOneNamingTheKey(string problem, string key)
    {
        var junk = Path.Combine(_temp.FullName, "junk.pem");
        await File.WriteAllTextAsync(junk, "-----BEGIN NOTHING-----\n-----END NOTHING-----\n");
        var settings = problem switch
        {
            "missing" => new Dictionary<string, string> { ["FrontDoor__Tls__CertificatePath"] = Path.Combine(_temp.FullName, "none.pem") },
            "not-a-certificate" => new() { ["FrontDoor__Tls__CertificatePath"] = junk },
            "address" => new() { ["FrontDoor__Tls__Address"] = "localhost" },
            _ => new() { ["FrontDoor__Tls__Port"] = "https" },
        };

        await using var server = PredictorProcess.Start(settings);
        var exitCode = await server.WaitForExitAsync();

        Assert.Equal(1, exitCode);
        Assert.Contains(server.Output, l => l.Contains("crit:", StringComparison.Ordinal) && l.Contains(key, StringComparison.Ordinal));
    }

    public void Dispose() => _temp.Delete(recursive: true);
}
