using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Registry;

namespace StudentPerformance.Deployer.Edge;

/// <summary>
/// <c>Deployer:Edge:Image</c> on the engine: pulled (with the predictor registry's credentials when it lives in the
/// same registry) before a running edge is replaced or a missing one created, so that a wrong name or an unreachable
/// registry never removes the edge that serves.
/// </summary>
public sealed class EdgeImage(IContainerRuntime docker, IImageRegistry registry, IOptions<EdgeOptions> options, ILogger<EdgeImage> logger)
{
    /// <summary>Why the image cannot be used, from the last attempt; null when it is on the engine.</summary>
    public string? Problem { get; private set; }

    /// <summary>The running edge runs <c>Deployer:Edge:Image</c>: nothing to report.</summary>
    public void InUse() => Problem = null;

    /// <summary>True when the engine has the image (pulled now, or already there); else <see cref="Problem"/> says why.</summary>
    public async Task<bool> EnsureAsync(CancellationToken cancellationToken)
    {
        var image = options.Value.Image;
        try
        {
            var credentials = SameRegistry(image, registry.ImageName) ? await registry.GetPullCredentialsAsync(cancellationToken).ConfigureAwait(false) : null;
            await docker.PullAsync(image, credentials, cancellationToken).ConfigureAwait(false);
            Problem = null;
            return true;
        }
        catch (Exception ex) when (ex is ContainerRuntimeException or RegistryException)
        {
            Problem = $"Deployer:Edge:Image '{image}' could not be pulled ({ex.Message}); the running edge is kept";
            Log.EdgeImageUnavailable(logger, image, ex.Message);
            return false;
        }
    }

    /// <summary>True when <paramref name="image"/> names the same registry host as <paramref name="predictorImage"/>.</summary>
    public static bool SameRegistry(string image, string predictorImage)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(predictorImage);
        return Host(image) is { } host && string.Equals(host, Host(predictorImage), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The registry host of a reference, or null for Docker Hub's short names (<c>name:tag</c>, <c>user/name</c>).</summary>
    private static string? Host(string reference)
    {
        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return null;
        }

        var first = reference[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost" ? first : null;
    }
}
