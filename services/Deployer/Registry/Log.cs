namespace StudentPerformance.Deployer.Registry;

// Event ids 2000-2099 belong to the registry. No method takes a token, password or key.
internal static partial class Log
{
    internal const int RetryEventId = 2000;
    internal const int CircuitOpenedEventId = 2001;
    internal const int BearerTokenIssuedEventId = 2005;
    internal const int DigestComputedFromBodyEventId = 2006;

    [LoggerMessage(RetryEventId, LogLevel.Warning, "Registry call failed ({Reason}); retry {Attempt} in {Delay}")]
    public static partial void RegistryRetry(ILogger logger, string reason, int attempt, TimeSpan delay);

    [LoggerMessage(CircuitOpenedEventId, LogLevel.Warning, "Registry circuit opened for {BreakDuration} after repeated failures ({Reason})")]
    public static partial void RegistryCircuitOpened(ILogger logger, TimeSpan breakDuration, string reason);

    [LoggerMessage(2002, LogLevel.Information, "Registry circuit closed; the registry answers again")]
    public static partial void RegistryCircuitClosed(ILogger logger);

    [LoggerMessage(2003, LogLevel.Debug, "Resolved {Repository}:{Tag} to {Digest}")]
    public static partial void DigestResolved(ILogger logger, string repository, string tag, string digest);

    [LoggerMessage(2004, LogLevel.Information, "Tag {Repository}:{Tag} does not exist in the registry")]
    public static partial void TagNotFound(ILogger logger, string repository, string tag);

    [LoggerMessage(BearerTokenIssuedEventId, LogLevel.Debug, "Registry at {Realm} issued a bearer token for scope {Scope}, valid until {ExpiresAt}")]
    public static partial void BearerTokenIssued(ILogger logger, string realm, string scope, DateTimeOffset expiresAt);

    [LoggerMessage(DigestComputedFromBodyEventId, LogLevel.Warning, "Registry omitted Docker-Content-Digest for {Repository}:{Tag}; computed it from the manifest body")]
    public static partial void DigestComputedFromBody(ILogger logger, string repository, string tag);

    [LoggerMessage(2007, LogLevel.Information, "Fetched ECR pull credentials for {ServerAddress}, valid until {ExpiresAt}")]
    public static partial void EcrTokenFetched(ILogger logger, string serverAddress, DateTimeOffset expiresAt);

    [LoggerMessage(2008, LogLevel.Information, "Registry credentials invalidated; the next call fetches new ones")]
    public static partial void CredentialsInvalidated(ILogger logger);

    [LoggerMessage(2009, LogLevel.Information, "Signature of {Digest} verified (payload {PayloadDigest}, key {KeyFingerprint})")]
    public static partial void SignatureVerified(ILogger logger, string digest, string payloadDigest, string keyFingerprint);

    [LoggerMessage(2010, LogLevel.Warning, "{Digest} is unsigned; rolled out because Deployer:Signature:Required is false")]
    public static partial void UnsignedAllowed(ILogger logger, string digest);
}
