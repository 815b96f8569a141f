namespace StudentPerformance.Deployer.Edge;

/// <summary>The edge's configuration file: what an edge (re)starting reads. Writes are atomic.</summary>
public interface IEdgeConfigFile
{
    /// <summary>Where it is, for messages.</summary>
    string Path { get; }

    /// <summary>Its text, or null when there is none yet.</summary>
    string? Read();

    /// <summary>Replaces it atomically (flushed, renamed); throws <see cref="IOException"/> when the disk refuses.</summary>
    Task WriteAsync(string content, CancellationToken cancellationToken);
}

/// <summary><c>haproxy.cfg</c> in <see cref="EdgeOptions.ConfigDirectory"/>, which the edge mounts read-only.</summary>
public sealed class EdgeConfigFile(string directory) : IEdgeConfigFile
{
    public string Path { get; } = System.IO.Path.Combine(directory, HaproxyConfig.FileName);

    public string? Read() => File.Exists(Path) ? File.ReadAllText(Path) : null;

    public Task WriteAsync(string content, CancellationToken cancellationToken) => HaproxyConfig.WriteAsync(directory, content, cancellationToken);
}
