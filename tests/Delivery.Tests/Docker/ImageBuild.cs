namespace StudentPerformance.Delivery.Tests.Docker;

/// <summary>
/// Builds the repository's Dockerfiles with the real engine. The base images come from <c>SDK_IMAGE</c> and
/// <c>RUNTIME_IMAGE</c> (scripts/test.sh sets them to the local images scripts/make-base-images.sh makes;
/// empty means the Dockerfile's pinned official defaults).
/// </summary>
public static class ImageBuild
{
    public const string PredictorDockerfile = "Dockerfile.predictor";
    public const string DeployerDockerfile = "Dockerfile.deployer";
    public const string EdgeDockerfile = "Dockerfile.edge";
    public const string PrometheusDockerfile = "Dockerfile.prometheus";

    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(15);

    /// <summary>The base-image build args from the environment, or none (the Dockerfile's defaults).</summary>
    public static IReadOnlyDictionary<string, string> BaseImageArgs()
    {
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in new[] { "SDK_IMAGE", "RUNTIME_IMAGE" })
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                args[name] = value;
            }
        }

        return args;
    }

    /// <summary>
    /// <c>docker build</c> of <paramref name="dockerfile"/> in <paramref name="context"/> (default: the repository)
    /// tagged <paramref name="tag"/>. Returns the result instead of throwing so tests can assert on failures.
    /// </summary>
    public static Task<CommandResult> BuildAsync(
        string dockerfile,
        string tag,
        IReadOnlyDictionary<string, string>? buildArgs = null,
        string? context = null,
        CancellationToken cancellationToken = default)
    {
        context ??= RepoPaths.Root;
        // --network host: NuGet restore inside the build uses the host's network (and the CA certificates that
        // scripts/make-base-images.sh put into the local base images).
        var arguments = new List<string>
        {
            "build", "--force-rm", "--network", "host", "--progress", "plain",
            "--file", Path.Combine(context, dockerfile), "--tag", tag,
        };
        foreach (var (name, value) in BaseImageArgs().Concat(buildArgs ?? new Dictionary<string, string>()))
        {
            arguments.Add("--build-arg");
            arguments.Add($"{name}={value}");
        }

        arguments.Add(context);
        return DockerCli.RunAsync(arguments, BuildTimeout, cancellationToken);
    }

    /// <summary>Builds the predictor image; <paramref name="trainSeed"/> gives a different model (v1, v2).</summary>
    public static async Task<string> BuildPredictorAsync(string tag, int? trainSeed = null)
    {
        var args = trainSeed is { } seed
            ? new Dictionary<string, string> { ["TRAIN_SEED"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture) }
            : null;
        (await BuildAsync(PredictorDockerfile, tag, args)).EnsureSuccess();
        return tag;
    }

    /// <summary>
    /// The runtime base image a build used: <c>RUNTIME_IMAGE</c> if set, else the Dockerfile's default, pulled so
    /// that its size can be read.
    /// </summary>
    public static async Task<string> RuntimeBaseImageAsync(string dockerfile)
    {
        if (BaseImageArgs().TryGetValue("RUNTIME_IMAGE", out var image))
        {
            return image;
        }

        const string Prefix = "ARG RUNTIME_IMAGE=";
        var line = File.ReadLines(Path.Combine(RepoPaths.Root, dockerfile)).First(l => l.StartsWith(Prefix, StringComparison.Ordinal));
        image = line[Prefix.Length..].Trim();
        (await DockerCli.RunAsync(["pull", image], TimeSpan.FromMinutes(5))).EnsureSuccess();
        return image;
    }

    /// <summary>
    /// Builds an image from Dockerfile text in an empty context, for variants of a built image, such as a
    /// predictor that cannot start: <c>FROM {tag}</c> + <c>ENV Predictor__ModelPath=/missing.zip</c>.
    /// </summary>
    public static async Task<string> BuildFromTextAsync(string dockerfileText, string tag)
    {
        var context = Directory.CreateTempSubdirectory("delivery-context-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), dockerfileText);
            (await BuildAsync("Dockerfile", tag, context: context)).EnsureSuccess();
            return tag;
        }
        finally
        {
            Directory.Delete(context, recursive: true);
        }
    }

    public static async Task<string> BuildDeployerAsync(string tag)
    {
        (await BuildAsync(DeployerDockerfile, tag)).EnsureSuccess();
        return tag;
    }

    /// <summary>
    /// Builds the edge (HAProxy) image. Its base is <c>DEBIAN_IMAGE</c> as in the deployer's edge tests: unset means
    /// the local stand-in <c>local/debian:bookworm</c> (scripts/make-base-images.sh), empty the Dockerfile's pinned
    /// default.
    /// </summary>
    public static async Task<string> BuildEdgeAsync(string tag)
    {
        var args = Environment.GetEnvironmentVariable("DEBIAN_IMAGE") switch
        {
            null => new Dictionary<string, string> { ["BASE_IMAGE"] = "local/debian:bookworm" },
            "" => null,
            var image => new Dictionary<string, string> { ["BASE_IMAGE"] = image },
        };
        (await BuildAsync(EdgeDockerfile, tag, args)).EnsureSuccess();
        return tag;
    }

    /// <summary>Builds the observability profile's Prometheus on the same Debian base as the edge.</summary>
    public static async Task<string> BuildPrometheusAsync(string tag)
    {
        var args = Environment.GetEnvironmentVariable("DEBIAN_IMAGE") switch
        {
            null => new Dictionary<string, string> { ["BASE_IMAGE"] = "local/debian:bookworm" },
            "" => null,
            var image => new Dictionary<string, string> { ["BASE_IMAGE"] = image },
        };
        (await BuildAsync(PrometheusDockerfile, tag, args)).EnsureSuccess();
        return tag;
    }
}
