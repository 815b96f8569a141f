using System.Diagnostics;
using System.Text;
using Grpc.Health.V1;
using Grpc.Net.Client;
using StudentPerformance.V1;

namespace Deployer.Tests.Support;

/// <summary>
/// The real predictor images the end-to-end tests roll out, built once per test run from Dockerfile.predictor
/// with the local base images: v1 and v2 (different training seeds, so different model versions), v3 (v1 with
/// another label: a third digest), and two broken ones derived from v1: one that exits at start because its
/// model file is missing (the seed's failure) and one that runs but never serves gRPC on port 8000.
/// </summary>
public sealed class PredictorImages : IAsyncLifetime
{
    public const string Repository = "sp-deployer-e2e/predictor";

    // Tags are unique per test run: another run on the same engine (CI, a colleague) may build from another tree.
    // BuildKit's cache still makes the second build of an unchanged tree take a second.
    private static readonly string Run = LocalRegistry.RandomSuffix();

    public static string V1 => $"{Repository}:v1-{Run}";

    public static string V2 => $"{Repository}:v2-{Run}";

    public static string V3 => $"{Repository}:v3-{Run}";

    /// <summary>Exits with code 1 at start: the model file is not where the app looks.</summary>
    public static string Crashing => $"{Repository}:crash-{Run}";

    /// <summary>Runs, but serves gRPC on 8001 instead of 8000, so it never becomes SERVING.</summary>
    public static string NeverServing => $"{Repository}:hang-{Run}";

    /// <summary>
    /// v2 whose process is stopped (SIGTERM) <see cref="ExitsAfterSeconds"/> s after each start: it passes preflight,
    /// then fails the health gate or the bake, and under <c>unless-stopped</c> restarts into a crash loop.
    /// </summary>
    public static string ExitsLater => $"{Repository}:exits-later-{Run}";

    public const int ExitsAfterSeconds = 20;

    /// <summary>The edge proxy, built from Dockerfile.edge.</summary>
    public static string Edge => $"sp-deployer-e2e/edge:{Run}";

    public string V1ModelVersion { get; private set; } = "";

    public string V2ModelVersion { get; private set; } = "";

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "StudentPerformance.slnx")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("StudentPerformance.slnx not found above " + AppContext.BaseDirectory);
        }
    }

    public async Task InitializeAsync()
    {
        var root = RepositoryRoot;
        await BuildPredictorAsync(root, V1, seed: 1);
        await BuildPredictorAsync(root, V2, seed: 2);
        await BuildDerivedAsync(V3, $"FROM {V1}\nLABEL sp.e2e.variant=v3\n");
        await BuildDerivedAsync(Crashing, $"FROM {V1}\nENV Predictor__ModelPath=/app/model/missing.zip\n");
        await BuildDerivedAsync(NeverServing, $"FROM {V1}\nENV Kestrel__Endpoints__Grpc__Url=http://0.0.0.0:8001\n");
        await BuildDerivedAsync(ExitsLater, $"FROM {V2}\nENTRYPOINT [\"timeout\", \"-s\", \"TERM\", \"{ExitsAfterSeconds}\", \"dotnet\", \"Predictor.dll\"]\n");
        await BuildEdgeAsync(root, Edge);
        V1ModelVersion = await ModelVersionOfAsync(V1);
        V2ModelVersion = await ModelVersionOfAsync(V2);
        Assert.NotEqual(V1ModelVersion, V2ModelVersion);
    }

    public async Task DisposeAsync()
    {
        foreach (var tag in new[] { Edge, ExitsLater, NeverServing, Crashing, V3, V2, V1 })
        {
            await Cli.TryRunAsync(["rmi", tag]);
        }
    }

    internal static Task<string> BuildPredictorAsync(string root, string tag, int seed)
    {
        List<string> arguments = ["build", "--force-rm", "--network", "host", "--build-arg", $"TRAIN_SEED={seed}"];
        arguments.AddRange(BaseImageArgument("SDK_IMAGE", "local/sdk:10.0"));
        arguments.AddRange(BaseImageArgument("RUNTIME_IMAGE", "local/aspnet:10.0"));
        arguments.AddRange(["-t", tag, "-f", Path.Combine(root, "Dockerfile.predictor"), root]);
        return Cli.RunAsync(arguments, timeout: TimeSpan.FromMinutes(10));
    }

    /// <summary>Builds Dockerfile.edge as <paramref name="tag"/>, on the base image scripts/test.sh chose.</summary>
    internal static Task<string> BuildEdgeAsync(string root, string tag)
    {
        List<string> arguments = ["build", "--force-rm", "--network", "host"];
        arguments.AddRange(BaseImageArgument("DEBIAN_IMAGE", "local/debian:bookworm", "BASE_IMAGE"));
        arguments.AddRange(["-t", tag, "-f", Path.Combine(root, "Dockerfile.edge"), root]);
        return Cli.RunAsync(arguments, timeout: TimeSpan.FromMinutes(10));
    }

    /// <summary>
    /// The base image as scripts/test.sh chose it (same variable names as the build args): unset means the local
    /// image, empty means the Dockerfile's own default (runners that can pull the official images).
    /// </summary>
    private static string[] BaseImageArgument(string variable, string local, string? buildArg = null) =>
        Environment.GetEnvironmentVariable(variable) switch
        {
            null => ["--build-arg", $"{buildArg ?? variable}={local}"],
            "" => [],
            var image => ["--build-arg", $"{buildArg ?? variable}={image}"],
        };

    private static async Task BuildDerivedAsync(string tag, string dockerfile)
    {
        var context = Directory.CreateTempSubdirectory("sp-e2e-image-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), dockerfile);
            await Cli.RunAsync(["build", "--force-rm", "-t", tag, context], timeout: TimeSpan.FromMinutes(2));
        }
        finally
        {
            Directory.Delete(context, recursive: true);
        }
    }

    /// <summary>Runs the image once on a loopback port and asks it for its model version.</summary>
    private static async Task<string> ModelVersionOfAsync(string image)
    {
        var name = "sp-e2e-version-" + LocalRegistry.RandomSuffix();
        var port = LocalRegistry.FreePort();
        await Cli.RunAsync(["run", "-d", "--name", name, "-p", $"127.0.0.1:{port}:8000", image]);
        try
        {
            var address = new Uri($"http://127.0.0.1:{port}");
            await Probes.WaitUntilAsync(() => Probes.IsServingAsync(address), TimeSpan.FromSeconds(60), $"{image} to serve");
            using var channel = GrpcChannel.ForAddress(address);
            var info = await new Predictor.PredictorClient(channel).GetModelInfoAsync(new GetModelInfoRequest());
            return info.ModelVersion;
        }
        finally
        {
            await Cli.TryRunAsync(["rm", "-f", name]);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DockerEndToEnd : ICollectionFixture<PredictorImages>
{
    /// <summary>One collection, so the rollouts run one after another on the shared two-core machine.</summary>
    public const string Name = "docker end-to-end";
}

/// <summary>Health and model-version checks through a published host port.</summary>
public static class Probes
{
    public static async Task<bool> IsServingAsync(Uri address)
    {
        try
        {
            using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2) } });
            var reply = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(2));
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
        }
        catch (Exception ex) when (ex is Grpc.Core.RpcException or HttpRequestException)
        {
            return false;
        }
    }

    public static async Task<string?> ModelVersionAsync(Uri address)
    {
        try
        {
            using var channel = GrpcChannel.ForAddress(address);
            var info = await new Predictor.PredictorClient(channel).GetModelInfoAsync(new GetModelInfoRequest(), deadline: TimeProvider.System.GetUtcNow().UtcDateTime.AddSeconds(3));
            return info.ModelVersion;
        }
        catch (Grpc.Core.RpcException)
        {
            return null;
        }
    }

    /// <summary>Waits for a condition; a generous bound, not a timing assertion.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string>? diagnostics = null)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(started) < timeout)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"Timed out after {timeout} waiting for {what}.\n{diagnostics?.Invoke()}");
    }
}

/// <summary>Debian's docker client with BuildKit, for building and inspecting in tests.</summary>
public static class Cli
{
    public static async Task<string> RunAsync(IReadOnlyList<string> arguments, TimeSpan? timeout = null)
    {
        var (exitCode, output) = await TryRunAsync(arguments, timeout);
        return exitCode == 0
            ? output
            : throw new InvalidOperationException($"docker {string.Join(' ', arguments)} exited with {exitCode}:\n{output}");
    }

    public static async Task<(int ExitCode, string Output)> TryRunAsync(IReadOnlyList<string> arguments, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(DockerCli.Binary, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["DOCKER_BUILDKIT"] = "1";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(cts.Token);
        var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        return (process.ExitCode, output);
    }
}
