namespace StudentPerformance.Deployer.Registry;

/// <summary>
/// The one question the deployer asks a registry: which digest does the tracked tag point at now,
/// and which credentials does the Docker engine need to pull it.
/// </summary>
public interface IImageRegistry
{
    /// <summary>
    /// The image name the Docker engine pulls, without tag or digest, for example
    /// <c>123456789012.dkr.ecr.eu-west-1.amazonaws.com/student-performance</c> or
    /// <c>127.0.0.1:5000/student-performance</c>.
    /// </summary>
    string ImageName { get; }

    /// <summary>
    /// Resolves the tracked tag to its manifest digest (<c>sha256:…</c>): the digest of the index for
    /// multi-arch images, so that it matches what <c>docker pull repo@digest</c> records in RepoDigests.
    /// Returns null when the tag does not exist. Throws <see cref="RegistryException"/> on failure.
    /// </summary>
    Task<string?> ResolveDigestAsync(string tag, CancellationToken cancellationToken);

    /// <summary>Credentials for the engine's pull, or null for anonymous pulls.</summary>
    Task<RegistryCredentials?> GetPullCredentialsAsync(CancellationToken cancellationToken);

    /// <summary>Drops cached credentials after the engine or registry refused them (401/403).</summary>
    void InvalidateCredentials();

    /// <summary>
    /// The bytes of the manifest at <paramref name="reference"/> (a tag or a digest) in the tracked repository, or null
    /// when it does not exist. Used for signature manifests, which are small. Throws <see cref="RegistryException"/>.
    /// </summary>
    Task<byte[]?> GetManifestAsync(string reference, CancellationToken cancellationToken);

    /// <summary>
    /// The bytes of blob <paramref name="digest"/>, checked against that digest, or null when it does not exist or is
    /// larger than <paramref name="maxBytes"/>. Throws <see cref="RegistryException"/>.
    /// </summary>
    Task<byte[]?> GetBlobAsync(string digest, int maxBytes, CancellationToken cancellationToken);
}

/// <summary>Registry credentials. <see cref="ToString"/> never prints the secret.</summary>
public sealed record RegistryCredentials(string ServerAddress, string Username, string Password)
{
    public override string ToString() => $"RegistryCredentials {{ ServerAddress = {ServerAddress}, Username = {Username}, Password = *** }}";
}

/// <summary>A registry call failed. <see cref="IsTransient"/> says whether a retry may help.</summary>
public sealed class RegistryException : Exception
{
    public RegistryException(string message, bool isTransient, int? statusCode = null, Exception? inner = null)
        : base(message, inner)
    {
        IsTransient = isTransient;
        StatusCode = statusCode;
    }

    public RegistryException() : this("registry error", isTransient: true) { }

    public RegistryException(string message) : this(message, isTransient: true) { }

    public RegistryException(string message, Exception inner) : this(message, isTransient: true, inner: inner) { }

    public bool IsTransient { get; }

    public int? StatusCode { get; }
}
