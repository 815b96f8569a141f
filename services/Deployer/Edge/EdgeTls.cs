using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Edge;

/// <summary>
/// The edge's certificate (<c>Deployer:Edge:Tls:CertificatePath</c>). The edge never reads the operator's file: it
/// loads a copy the deployer writes into <c>ConfigDirectory/tls</c> (0640, the deployer's group, which the edge joins;
/// mounted read-only) only after checking it. So a bad replacement never reaches the edge, not even an edge that
/// restarts, and the operator's file keeps its own owner and mode. A new valid file goes to the running edge through
/// the runtime API (<c>set ssl cert</c> + <c>commit ssl cert</c>): new handshakes get it, open connections are kept
/// (docs/edge.md, "TLS", for the measurement that chose this over a reload).
/// </summary>
public sealed class EdgeTls
{
    /// <summary>The copy's folder under <see cref="EdgeOptions.ConfigDirectory"/>.</summary>
    public const string DirectoryName = "tls";

    /// <summary>The copy's file name.</summary>
    public const string FileName = "edge.pem";

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute;

    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;

    private readonly EdgeOptions _options;
    private readonly IEdgeRuntimeApi _api;
    private readonly PinnedCertificates _pins;
    private readonly ILogger<EdgeTls> _logger;
    private string? _refusedHash;
    private string? _served;

    /// <param name="options">Deployer:Edge.</param>
    /// <param name="pins">Where the deployer's own probes learn which certificate the edge serves (the gate calls through it).</param>
    /// <param name="logger">The log.</param>
    public EdgeTls(IOptions<EdgeOptions> options, PinnedCertificates pins, ILogger<EdgeTls> logger)
        : this(options, new HaproxyRuntimeApi(options?.Value.RuntimeApi!, options!.Value.RuntimeApiTimeout), pins, logger)
    {
    }

    /// <summary>Over another runtime API (tests).</summary>
    public EdgeTls(IOptions<EdgeOptions> options, IEdgeRuntimeApi api, PinnedCertificates pins, ILogger<EdgeTls> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _api = api;
        _pins = pins;
        _logger = logger;
    }

    /// <summary>True when <c>Deployer:Edge:Tls:CertificatePath</c> is set.</summary>
    public bool Enabled => _options.Tls.Enabled;

    /// <summary>Why the configured file is not what the edge serves (refused, or not applied yet), or null.</summary>
    public string? Problem { get; private set; }

    /// <summary>The certificate the edge's copy holds, once <see cref="PrepareAsync"/> has run.</summary>
    public EdgeCertificate? Current { get; private set; }

    /// <summary>The folder the edge mounts read-only, at the same path, to load its certificate.</summary>
    public static string CopyDirectory(EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Path.Combine(Path.GetFullPath(options.ConfigDirectory), DirectoryName);
    }

    /// <summary>The copy's path, on the host and in the edge container alike: the <c>crt</c> of every public bind.</summary>
    public static string CopyPath(EdgeOptions options) => Path.Combine(CopyDirectory(options), FileName);

    /// <summary>
    /// Before the edge's configuration is written or the edge (re)started: the copy holds the configured file when that
    /// is valid, and else keeps what it held (<see cref="Problem"/> says why: a bad file, or a copy that could not be
    /// written). Throws <see cref="EdgeCertificateException"/> only when there is no valid copy at all.
    /// </summary>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return;
        }

        var path = CopyPath(_options);
        var copy = File.Exists(path) ? await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false) : null;
        string? source = null;
        try
        {
            source = await File.ReadAllTextAsync(_options.Tls.CertificatePath, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Refuse(ex.Message, ex.Message);
        }

        if (source is not null && source != copy)
        {
            try
            {
                var certificate = EdgeCertificate.Parse(source, _options.Tls.CertificatePath);
                await WriteCopyAsync(path, source, cancellationToken).ConfigureAwait(false);
                copy = source;
                _refusedHash = null;
                Log.CertificateCopied(_logger, certificate.ToString(), path);
            }
            catch (EdgeCertificateException ex)
            {
                Refuse(Hash(source), ex.Message);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A full disk or a folder the deployer may no longer write: the edge keeps the copy it has, and the next
                // tick writes the file again. Without any copy there is nothing to serve (below).
                Refuse(Hash(source), $"its checked copy could not be written to {path} ({ex.Message})");
            }
        }
        else if (source is not null)
        {
            _refusedHash = null;
        }

        if (copy is null)
        {
            throw new EdgeCertificateException($"{EdgeTlsOptions.SectionName}:CertificatePath: the edge has no certificate to serve: {Problem}");
        }

        Current = EdgeCertificate.Parse(copy, path);
        // Between the copy and the runtime API's commit (or when the edge refused it) the edge may serve either.
        _pins.Pin(Current.Fingerprint, _served);
        if (source == copy && _served == Current.Fingerprint)
        {
            Problem = null;
        }
    }

    /// <summary>
    /// After the edge answers: when it serves another certificate than the copy (the file was just replaced), gives it
    /// the copy through the runtime API. Never throws for the edge's answer: a failure is kept in <see cref="Problem"/>
    /// and logged, the old certificate keeps serving, and the next tick tries again.
    /// </summary>
    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        if (!Enabled || Current is not { } wanted || _served == wanted.Fingerprint)
        {
            return;
        }

        var path = CopyPath(_options);
        try
        {
            var serving = await ServedFingerprintAsync(path, cancellationToken).ConfigureAwait(false);
            if (serving != wanted.Fingerprint)
            {
                // Until the commit (or if it fails) the edge serves what it reported: the probes must accept that too.
                _pins.Pin(wanted.Fingerprint, serving, _served);
                // An empty line would end the payload: blank lines between PEM blocks carry nothing, so they go.
                var pem = string.Join('\n', (await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false))
                    .ReplaceLineEndings("\n").Split('\n').Where(l => !string.IsNullOrWhiteSpace(l)));
                var set = await _api.ExecuteAsync($"set ssl cert {path}", pem, cancellationToken).ConfigureAwait(false);
                if (!set.Contains("Transaction", StringComparison.Ordinal) || set.Contains("Can't", StringComparison.Ordinal))
                {
                    throw new EdgeRuntimeApiException($"'set ssl cert' answered: {set.Trim()}");
                }

                var commit = await _api.ExecuteAsync($"commit ssl cert {path}", cancellationToken).ConfigureAwait(false);
                if (!commit.Contains("Success!", StringComparison.Ordinal))
                {
                    await _api.ExecuteAsync($"abort ssl cert {path}", cancellationToken).ConfigureAwait(false);
                    throw new EdgeRuntimeApiException($"'commit ssl cert' answered: {commit.Trim()}");
                }

                serving = await ServedFingerprintAsync(path, cancellationToken).ConfigureAwait(false);
                if (serving != wanted.Fingerprint)
                {
                    throw new EdgeRuntimeApiException($"the edge still serves SHA-1 {serving ?? "(none)"} after the commit");
                }

                Log.CertificateRotated(_logger, wanted.ToString());
            }

            _served = wanted.Fingerprint;
            _pins.Pin(wanted.Fingerprint);
            if (_refusedHash is null)
            {
                Problem = null;
            }
        }
        catch (EdgeRuntimeApiException ex)
        {
            Problem = $"{EdgeTlsOptions.SectionName}:CertificatePath: the edge did not take {wanted} ({ex.Message}); it keeps serving its current certificate and the next tick tries again";
            Log.CertificateNotApplied(_logger, wanted.ToString(), ex.Message);
        }
    }

    /// <summary>The SHA-1 fingerprint <c>show ssl cert</c> reports for <paramref name="path"/>, or null when it names none.</summary>
    private async Task<string?> ServedFingerprintAsync(string path, CancellationToken cancellationToken)
    {
        var reply = await _api.ExecuteAsync($"show ssl cert {path}", cancellationToken).ConfigureAwait(false);
        return ParseFingerprint(reply);
    }

    /// <summary>The <c>SHA1 FingerPrint:</c> line of a <c>show ssl cert &lt;file&gt;</c> reply, or null.</summary>
    public static string? ParseFingerprint(string reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        const string Marker = "SHA1 FingerPrint:";
        return reply.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith(Marker, StringComparison.Ordinal))
            .Select(l => l[Marker.Length..].Trim())
            .FirstOrDefault(f => f.Length > 0);
    }

    private void Refuse(string hash, string why)
    {
        Problem = $"{EdgeTlsOptions.SectionName}:CertificatePath: {why}; the edge keeps serving {Current?.ToString() ?? "its current certificate"}";
        if (hash != _refusedHash)
        {
            // Once per distinct file: the same bad file is read again every tick.
            Log.CertificateRefused(_logger, _options.Tls.CertificatePath, why);
            _refusedHash = hash;
        }
    }

    private static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static async Task WriteCopyAsync(string path, string content, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path)!;
        var temporary = Path.Combine(directory, $".{FileName}.{Guid.NewGuid():N}.tmp");
        var fileOptions = new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory, DirectoryMode);
            if (File.GetUnixFileMode(directory) != DirectoryMode)
            {
                File.SetUnixFileMode(directory, DirectoryMode);
            }

            fileOptions.UnixCreateMode = FileMode;
        }
        else
        {
            Directory.CreateDirectory(directory);
        }

        try
        {
            var stream = new FileStream(temporary, fileOptions);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(content), cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            // By rename: an edge that starts at any moment reads the old copy or the new one, never a torn one.
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
