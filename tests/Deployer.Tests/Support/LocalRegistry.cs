using System.Diagnostics;
using System.Formats.Tar;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Deployer.Tests.Support;

/// <summary>How a <see cref="LocalRegistry"/> authenticates clients.</summary>
public enum LocalRegistryAuth
{
    /// <summary>Anyone may pull and push.</summary>
    Anonymous,

    /// <summary>htpasswd (bcrypt) basic auth with <see cref="LocalRegistry.Username"/> and <see cref="LocalRegistry.Password"/>.</summary>
    Htpasswd,

    /// <summary>The Docker token protocol: the registry trusts JWTs signed by a <see cref="LocalRegistryTokenRealm"/>.</summary>
    Token,
}

/// <summary>
/// A real CNCF distribution registry (Debian's <c>/usr/bin/docker-registry</c>) on a free 127.0.0.1 port with
/// its own storage, plus helpers that push and pull through the real Docker engine. Dispose kills the process,
/// removes the images it pushed from the engine and deletes its directories.
/// </summary>
public sealed partial class LocalRegistry : IAsyncDisposable
{
    public const string RegistryBinary = "/usr/bin/docker-registry";

    private readonly string _root;
    private readonly List<string> _pushedReferences = [];
    private readonly StringBuilder _output = new();
    private readonly LocalRegistryTokenRealm? _realm;
    private Process? _process;

    private LocalRegistry(string root, int port, LocalRegistryAuth auth, string username, string password, LocalRegistryTokenRealm? realm)
    {
        _root = root;
        Port = port;
        Auth = auth;
        Username = username;
        Password = password;
        _realm = realm;
        Docker = new DockerCli(Path.Combine(root, "docker-config"));
    }

    public int Port { get; private set; }

    public LocalRegistryAuth Auth { get; }

    /// <summary>The user that htpasswd or the token realm accepts (empty when anonymous).</summary>
    public string Username { get; }

    /// <summary>That user's password.</summary>
    public string Password { get; }

    /// <summary><c>127.0.0.1:port</c>: the registry part of image references.</summary>
    public string HostPort => $"127.0.0.1:{Port}";

    public Uri Endpoint => new($"http://{HostPort}");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The token service the registry trusts (token mode only).</summary>
    public LocalRegistryTokenRealm? TokenRealm => _realm;

    /// <summary>The Docker CLI with a private config dir, so logins never touch the user's ~/.docker.</summary>
    public DockerCli Docker { get; }

    /// <summary>The registry's own log, for assertion messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts a registry. <paramref name="username"/> defaults to a random user for the auth modes.</summary>
    public static async Task<LocalRegistry> StartAsync(LocalRegistryAuth auth = LocalRegistryAuth.Anonymous, string? username = null, string? password = null)
    {
        var root = Directory.CreateTempSubdirectory("sp-registry-").FullName;
        var user = auth == LocalRegistryAuth.Anonymous ? string.Empty : username ?? "user" + RandomSuffix();
        var secret = auth == LocalRegistryAuth.Anonymous ? string.Empty : password ?? "pw-" + Guid.NewGuid().ToString("N");
        LocalRegistryTokenRealm? realm = null;
        LocalRegistry? registry = null;
        try
        {
            if (auth == LocalRegistryAuth.Token)
            {
                realm = await LocalRegistryTokenRealm.StartAsync(user, secret, root);
            }

            registry = new LocalRegistry(root, FreePort(), auth, user, secret, realm);
            if (auth == LocalRegistryAuth.Htpasswd)
            {
                var line = await RunAsync("htpasswd", ["-Bbn", user, secret]);
                await File.WriteAllTextAsync(Path.Combine(root, "htpasswd"), line.Trim() + "\n");
            }

            await registry.StartOnFreePortAsync();
            if (auth != LocalRegistryAuth.Anonymous)
            {
                await registry.Docker.RunAsync(["login", registry.HostPort, "--username", user, "--password-stdin"], stdin: secret);
            }

            return registry;
        }
        catch
        {
            if (registry is not null)
            {
                await registry.DisposeAsync();
            }
            else
            {
                if (realm is not null)
                {
                    await realm.DisposeAsync();
                }

                Directory.Delete(root, recursive: true);
            }

            throw;
        }
    }

    // Another test may grab the port between FreePort() and the registry's bind: then try another one.
    private async Task StartOnFreePortAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            await File.WriteAllTextAsync(Path.Combine(_root, "config.yml"), Config());
            try
            {
                await RestartAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 5 && Output.Contains("address already in use", StringComparison.Ordinal))
            {
                Port = FreePort();
            }
        }
    }

    /// <summary>Starts the registry process again on the same port and storage (after <see cref="Stop"/>).</summary>
    public async Task RestartAsync()
    {
        Stop();
        var info = new ProcessStartInfo(RegistryBinary, ["serve", Path.Combine(_root, "config.yml")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await WaitUntilServingAsync();
    }

    /// <summary>Kills the registry process (an outage); storage and port stay reserved for <see cref="RestartAsync"/>.</summary>
    public void Stop()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
        _process = null;
    }

    /// <summary>
    /// Makes a tiny unique image with <c>docker import</c>, pushes it as <c>repository:tag</c> and returns the digest
    /// that <c>docker push</c> reported. The local copy is removed, so a later pull really fetches it.
    /// </summary>
    public async Task<string> PushImageAsync(string repository, string tag)
    {
        var reference = $"{HostPort}/{repository}:{tag}";
        var layer = Path.Combine(_root, $"layer-{RandomSuffix()}.tar");
        await using (var tar = File.Create(layer))
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "hello.txt")
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes($"{repository}:{tag} {Guid.NewGuid()}\n")),
            };
            await writer.WriteEntryAsync(entry);
        }

        await Docker.RunAsync(["import", "--change", $"LABEL sp.test={RandomSuffix()}", layer, reference]);
        File.Delete(layer);
        _pushedReferences.Add(reference);
        return await PushExistingAsync(reference, repository, tag);
    }

    /// <summary>
    /// Pushes an image the engine already has (for example a predictor image built by the test) as
    /// <c>repository:tag</c> and returns the digest <c>docker push</c> reported. The source image stays; only the
    /// registry tag is removed from the engine afterwards.
    /// </summary>
    public async Task<string> PushExistingAsync(string sourceImage, string repository, string tag)
    {
        var reference = $"{HostPort}/{repository}:{tag}";
        await Docker.RunAsync(["tag", sourceImage, reference]);
        var output = await Docker.RunAsync(["push", reference]);
        var match = PushDigest().Match(output);
        Assert.True(match.Success, $"docker push printed no digest:\n{output}");
        await Docker.RunAsync(["rmi", reference]);
        return match.Groups["digest"].Value;
    }

    /// <summary>
    /// Pushes two tiny images and a manifest list (amd64 + arm64) over them as <c>repository:tag</c>; returns the
    /// list's digest that <c>docker manifest push</c> reported.
    /// </summary>
    public async Task<string> PushMultiArchAsync(string repository, string tag)
    {
        var amd64 = $"{HostPort}/{repository}:{tag}-amd64";
        var arm64 = $"{HostPort}/{repository}:{tag}-arm64";
        await PushImageAsync(repository, $"{tag}-amd64");
        await PushImageAsync(repository, $"{tag}-arm64");
        var list = $"{HostPort}/{repository}:{tag}";
        await Docker.RunAsync(["manifest", "create", "--insecure", list, amd64, arm64]);
        await Docker.RunAsync(["manifest", "annotate", "--arch", "arm64", list, arm64]);
        var output = await Docker.RunAsync(["manifest", "push", "--insecure", "--purge", list]);
        var digest = output.Trim().Split('\n')[^1].Trim();
        Assert.Matches("^sha256:[a-f0-9]{64}$", digest);
        return digest;
    }

    /// <summary>Remembers an image reference to remove from the engine at dispose (for example one pulled by digest).</summary>
    public void TrackForCleanup(string reference) => _pushedReferences.Add(reference);

    public async ValueTask DisposeAsync()
    {
        Stop();
        foreach (var reference in _pushedReferences)
        {
            await Docker.TryRunAsync(["rmi", "--force", reference]);
        }

        if (_realm is not null)
        {
            await _realm.DisposeAsync();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a dying process; the temp dir is cleaned by the OS eventually.
        }
    }

    private string Config()
    {
        var auth = Auth switch
        {
            LocalRegistryAuth.Htpasswd => $"""
                auth:
                  htpasswd:
                    realm: sp-test
                    path: {Path.Combine(_root, "htpasswd")}
                """,
            LocalRegistryAuth.Token => $"""
                auth:
                  token:
                    realm: {_realm!.TokenUrl}
                    service: {LocalRegistryTokenRealm.Service}
                    issuer: {LocalRegistryTokenRealm.Issuer}
                    rootcertbundle: {_realm.CertificatePath}
                """,
            _ => string.Empty,
        };
        return $"""
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {Path.Combine(_root, "storage")}
              delete:
                enabled: true
            http:
              addr: {HostPort}
              secret: {Guid.NewGuid():N}
            {auth}
            """;
    }

    private async Task WaitUntilServingAsync()
    {
        using var client = new HttpClient();
        for (var attempt = 0; attempt < 200; attempt++)
        {
            if (_process is null || _process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited at start:\n{Output}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri(Endpoint, "/v2/"));
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"docker-registry did not serve /v2/ on {HostPort}:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>A port that was free a moment ago; the registry binds it right after.</summary>
    public static int FreePort() => StudentPerformance.TestSupport.TestPorts.Free();

    public static string RandomSuffix() => Guid.NewGuid().ToString("N")[..10];

    internal static async Task<string> RunAsync(string file, IReadOnlyList<string> arguments, string? stdin = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (exitCode, output) = await TryRunProcessAsync(file, arguments, stdin, environment);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments.Where(a => !a.StartsWith("pw-", StringComparison.Ordinal)))} exited with {exitCode}:\n{output}");
        }

        return output;
    }

    internal static async Task<(int ExitCode, string Output)> TryRunProcessAsync(string file, IReadOnlyList<string> arguments, string? stdin = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex("digest: (?<digest>sha256:[a-f0-9]{64})")]
    private static partial Regex PushDigest();
}

/// <summary>Debian's <c>/usr/bin/docker</c> with a private config directory (its own logins).</summary>
public sealed class DockerCli(string configDirectory)
{
    /// <summary>$DOCKER (scripts/test.sh sets it) or Debian's client; the first docker on PATH may lack features.</summary>
    public static readonly string Binary = System.Environment.GetEnvironmentVariable("DOCKER") is { Length: > 0 } docker ? docker : "/usr/bin/docker";

    public string ConfigDirectory { get; } = configDirectory;

    public Task<string> RunAsync(IReadOnlyList<string> arguments, string? stdin = null) =>
        LocalRegistry.RunAsync(Binary, arguments, stdin, Environment());

    public Task<(int ExitCode, string Output)> TryRunAsync(IReadOnlyList<string> arguments, string? stdin = null) =>
        LocalRegistry.TryRunProcessAsync(Binary, arguments, stdin, Environment());

    /// <summary>A CLI with a fresh, empty config dir (no logins) under the same root.</summary>
    public DockerCli WithFreshConfig() => new(Path.Combine(ConfigDirectory, "..", "docker-config-" + LocalRegistry.RandomSuffix()));

    private Dictionary<string, string> Environment()
    {
        Directory.CreateDirectory(ConfigDirectory);
        return new() { ["DOCKER_CONFIG"] = ConfigDirectory };
    }
}
