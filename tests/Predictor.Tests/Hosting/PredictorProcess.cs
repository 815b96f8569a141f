using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using HealthClient = Grpc.Health.V1.Health.HealthClient;

namespace StudentPerformance.Predictor.Tests.Hosting;

/// <summary>
/// The real predictor as a child process: <c>dotnet Predictor.dll</c> from the predictor's own build output,
/// listening on free loopback ports passed through the standard Kestrel env vars.
/// </summary>
public sealed class PredictorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PredictorProcess(Process process, int grpcPort, int httpPort)
    {
        _process = process;
        GrpcAddress = new Uri($"http://127.0.0.1:{grpcPort}");
        HttpAddress = new Uri($"http://127.0.0.1:{httpPort}");
    }

    public Uri GrpcAddress { get; }

    public Uri HttpAddress { get; }

    public int Id => _process.Id;

    /// <summary>Every line written to stdout and stderr so far.</summary>
    public IReadOnlyList<string> Output => [.. _output];

    public string OutputText => string.Join('\n', _output);

    public bool HasExited => _process.HasExited;

    /// <summary>The folder holding Predictor.dll and its default model (model/model.zip).</summary>
    public static string BuildOutput { get; } = FindBuildOutput();

    public static string DefaultModelPath => Path.Combine(BuildOutput, "model", "model.zip");

    /// <summary>Starts the server with the given extra settings (env-var form, e.g. <c>Predictor__ModelPath</c>).</summary>
    public static PredictorProcess Start(IReadOnlyDictionary<string, string>? settings = null) =>
        Run([], settings);

    /// <summary>Runs another command of the same executable, for example <c>probe</c>.</summary>
    public static PredictorProcess Run(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? settings = null)
    {
        var grpcPort = FreePort();
        var httpPort = FreePort();
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = BuildOutput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(BuildOutput, "Predictor.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{grpcPort}";
        start.Environment["Kestrel__Endpoints__Http__Url"] = $"http://127.0.0.1:{httpPort}";
        // The admin endpoint (the shadow sample) too: its default 8081 is shared by every predictor a test starts.
        start.Environment["Kestrel__Endpoints__Admin__Url"] = $"http://127.0.0.1:{FreePort()}";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new PredictorProcess(process, grpcPort, httpPort);
        process.OutputDataReceived += (_, e) => child.Collect(e.Data);
        process.ErrorDataReceived += (_, e) => child.Collect(e.Data);
        process.Exited += (_, _) => child._exited.TrySetResult();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    public GrpcChannel CreateChannel(int? maxReceiveMessageSize = null) =>
        GrpcChannel.ForAddress(GrpcAddress, new GrpcChannelOptions { MaxReceiveMessageSize = maxReceiveMessageSize });

    /// <summary>Polls grpc.health.v1 Check until SERVING; fails with the server's output if it exits first.</summary>
    public async Task WaitUntilServingAsync(TimeSpan? timeout = null)
    {
        using var channel = CreateChannel();
        var client = new HealthClient(channel);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"predictor exited with {_process.ExitCode} before SERVING:\n{OutputText}");
            }

            try
            {
                var reply = await client.CheckAsync(new HealthCheckRequest(), cancellationToken: cts.Token);
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                // Not listening yet.
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cts.IsCancellationRequested)
            {
                throw new TimeoutException($"predictor not SERVING in time:\n{OutputText}");
            }

            await Task.Delay(50, cts.Token);
        }
    }

    /// <summary>Waits for the process to end and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        await _exited.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(); // flushes the redirected output
        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM, as docker stop and systemd do.</summary>
    public void Terminate()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Collect(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    internal static int FreePort() => StudentPerformance.TestSupport.TestPorts.Free();

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    // tests/Predictor.Tests/bin/<Configuration>/<tfm>/ -> services/Predictor/bin/<Configuration>/<tfm>/
    private static string FindBuildOutput()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var root = RepoRoot();
        var output = Path.Combine(root, "services", "Predictor", "bin", configuration, framework);
        return File.Exists(Path.Combine(output, "Predictor.dll"))
            ? output
            : throw new InvalidOperationException($"no Predictor.dll in {output}: build services/Predictor first");
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StudentPerformance.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no StudentPerformance.slnx above {AppContext.BaseDirectory}");
    }
}
