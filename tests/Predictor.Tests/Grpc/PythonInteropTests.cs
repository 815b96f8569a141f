using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using StudentPerformance.Predictor.Tests.Hosting;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Tests.Grpc;

/// <summary>
/// An independent client on another gRPC stack (Python grpcio, C-core HTTP/2) gets the same answers as
/// Grpc.Net.Client: health, a prediction, and a field-named INVALID_ARGUMENT.
/// </summary>
[Collection(ServedPredictorGroup.Name)]
public sealed partial class PythonInteropTests(ServedPredictor server) : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private const string HealthProto = "/usr/share/grpc-proto/grpc/health/v1/health.proto";

    private readonly DirectoryInfo _stubs = Directory.CreateTempSubdirectory("predictor-python-");

    [Fact]
    public async Task PythonClient_PredictAndBadInput_SameAnswersAsDotnetClient()
    {
        await GenerateStubsAsync();
        var expected = await server.Client.PredictAsync(new PredictRequest { Student = ServedPredictor.ValidStudent() });
        var script = Path.Combine(PredictorProcess.RepoRoot(), "tests", "Predictor.Tests", "Grpc", "interop_client.py");

        var stdout = await RunAsync(Python, script, _stubs.FullName, $"127.0.0.1:{server.Process.GrpcAddress.Port}");

        using var seen = JsonDocument.Parse(stdout);
        var root = seen.RootElement;
        Assert.Equal("SERVING", root.GetProperty("health").GetString());
        Assert.Equal(expected.MathScore, root.GetProperty("math_score").GetDouble());
        Assert.Equal(expected.ModelVersion, root.GetProperty("model_version").GetString());
        Assert.Equal("INVALID_ARGUMENT", root.GetProperty("bad_code").GetString());
        Assert.StartsWith("student.reading_score:", root.GetProperty("bad_details").GetString(), StringComparison.Ordinal);
    }

    public void Dispose() => _stubs.Delete(recursive: true);

    private async Task GenerateStubsAsync()
    {
        // Debian's grpc_tools (protoc 3.x) knows neither google/api/annotations.proto nor proto3 `optional`.
        // Neither changes the wire format: drop the REST annotations and read the scores as plain doubles
        // (the script only sends non-zero scores, which plain fields always put on the wire).
        var contract = await File.ReadAllTextAsync(Path.Combine(PredictorProcess.RepoRoot(), "protos", "studentperformance", "v1", "predictor.proto"));
        contract = AnnotationsImport().Replace(contract, "");
        contract = HttpOption().Replace(contract, "");
        contract = contract.Replace("optional double", "double", StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(_stubs.FullName, "predictor.proto"), contract);
        File.Copy(HealthProto, Path.Combine(_stubs.FullName, "health.proto"));

        await RunAsync(Python, "-m", "grpc_tools.protoc", $"-I{_stubs.FullName}",
            $"--python_out={_stubs.FullName}", $"--grpc_python_out={_stubs.FullName}", "predictor.proto", "health.proto");
    }

    private async Task<string> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _stubs.FullName };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{await stderr}");
        return await stdout;
    }

    [GeneratedRegex(@"^import ""google/api/annotations.proto"";\s*$", RegexOptions.Multiline)]
    private static partial Regex AnnotationsImport();

    [GeneratedRegex(@"option \(google\.api\.http\) = \{.*?\};", RegexOptions.Singleline)]
    private static partial Regex HttpOption();
}
