using System.Net.Sockets;
using System.Runtime.Versioning;
using Deployer.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Readiness;

namespace Deployer.Tests.Edge;

/// <summary>
/// TLS on the edge without HAProxy: the rendered binds, the check at start, the edge container's mount, and the
/// rotation's decisions over a scripted runtime API (EdgeTlsTests run them against HAProxy).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class EdgeTlsConfigTests : IDisposable
{
    private static readonly TestCertificate First = TestCertificate.Create("edge-first");
    private static readonly TestCertificate Second = TestCertificate.Create("edge-second");
    private readonly string _directory = Directory.CreateTempSubdirectory("sp-edge-tls-").FullName;
    private readonly PinnedCertificates _pins = new();

    private string CertificatePath => Path.Combine(_directory, "operator", "edge.pem");

    private EdgeOptions Options => new()
    {
        RuntimeApi = "unix:" + Path.Combine(_directory, "run", "admin.sock"),
        ConfigDirectory = Path.Combine(_directory, "edge"),
        BluePorts = ["18000:8000", "18080:8080"],
        GreenPorts = ["28000:8000", "28080:8080"],
        SlotNetwork = "",
        Tls = { CertificatePath = CertificatePath },
    };

    public EdgeTlsConfigTests() => Directory.CreateDirectory(Path.GetDirectoryName(CertificatePath)!);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Render_Tls_BothPublicPortsTerminateTlsOnTheCheckedCopy_WithH2ForGrpc()
    {
        var options = Options;
        var layout = EdgeLayout.Create([new("0.0.0.0", 8000, 8000), new("0.0.0.0", 8080, 8080)], 8000, options, EdgeSlot.Blue);

        var text = HaproxyConfig.Render(layout, options);

        var copy = Path.Combine(_directory, "edge", "tls", "edge.pem");
        Assert.Contains($"bind ipv4@0.0.0.0:8000 ssl crt {copy} alpn h2 proto h2\n", text, StringComparison.Ordinal);
        Assert.Contains($"bind ipv4@0.0.0.0:8080 ssl crt {copy} alpn h2,http/1.1\n", text, StringComparison.Ordinal);
        Assert.Contains("ssl-default-bind-options ssl-min-ver TLSv1.2", text, StringComparison.Ordinal);
        // The h2c slot is asked in its own scheme: Kestrel refuses :scheme https on a plaintext connection.
        Assert.Single(text.Split('\n'), l => l == "    http-request set-uri http://%[req.hdr(host)]%[pathq]");
        Assert.DoesNotContain(CertificatePath, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_Tls_CheckedByHaproxyWithTheCopy_IsValidWithoutWarnings()
    {
        First.WriteTo(CertificatePath);
        var (tls, _, _) = Tls();
        await tls.PrepareAsync(CancellationToken.None);
        var options = Options;
        var layout = EdgeLayout.Create([new("0.0.0.0", 8000, 8000), new("0.0.0.0", 8080, 8080)], 8000, options, EdgeSlot.Blue);
        var path = await HaproxyConfig.WriteAsync(options.ConfigDirectory, HaproxyConfig.Render(layout, options), CancellationToken.None);

        var (exitCode, output) = await HaproxyConfigTests.RunHaproxyCheckAsync(path);

        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain("WARNING", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_NoCertificate_BindsArePlaintext()
    {
        var options = Options;
        options.Tls.CertificatePath = "";
        var layout = EdgeLayout.Create([new("0.0.0.0", 8000, 8000)], 8000, options, EdgeSlot.Blue);

        var text = HaproxyConfig.Render(layout, options);

        Assert.DoesNotContain("ssl", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing", "does not exist")]
    [InlineData("directory", "cannot be read")]
    [InlineData("certificate only", "no private key")]
    [InlineData("key only", "no PEM certificate")]
    [InlineData("wrong key", "do not match")]
    [InlineData("garbage", "no PEM certificate")]
    public void AddEdgeProxy_BadCertificateFile_FailsAtStartNamingTheKey(string fault, string expected)
    {
        var path = fault == "directory" ? _directory : CertificatePath;
        switch (fault)
        {
            case "certificate only":
                File.WriteAllText(path, First.CertificatePem);
                break;
            case "key only":
                File.WriteAllText(path, First.KeyPem);
                break;
            case "wrong key":
                File.WriteAllText(path, First.PemWithKeyOf(Second));
                break;
            case "garbage":
                File.WriteAllText(path, "not a certificate\n");
                break;
        }

        using var provider = Provider(path);

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EdgeOptions>>().Value);

        Assert.Contains("Deployer:Edge:Tls:CertificatePath", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddEdgeProxy_GoodCertificateFile_Starts()
    {
        First.WriteTo(CertificatePath);
        using var provider = Provider(CertificatePath);

        Assert.Equal(CertificatePath, provider.GetRequiredService<IOptions<EdgeOptions>>().Value.Tls.CertificatePath);
    }

    [Fact]
    public void Parse_EncryptedKey_IsRefusedBecauseTheEdgeCannotAskForAPassphrase()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var encrypted = key.ExportEncryptedPkcs8PrivateKeyPem("secret", new(System.Security.Cryptography.PbeEncryptionAlgorithm.Aes128Cbc, System.Security.Cryptography.HashAlgorithmName.SHA256, 1000));

        var error = Assert.Throws<EdgeCertificateException>(() => EdgeCertificate.Parse(First.CertificatePem + encrypted, "x.pem"));

        Assert.Contains("encrypted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CertificateWithItsKey_GivesTheFingerprintHaproxyPrints()
    {
        var certificate = EdgeCertificate.Parse(First.Pem, "x.pem");

        Assert.Equal(First.Fingerprint, certificate.Fingerprint);
        Assert.Equal("CN=edge-first", certificate.Subject);
    }

    [Fact]
    public void Spec_Tls_MountsOnlyTheCopyFolderReadOnly_AndJoinsTheDeployersGroup()
    {
        var options = Options;
        options.RuntimeApi = "127.0.0.1:9999";

        var spec = EdgeContainer.Spec(options);

        var copies = Path.Combine(_directory, "edge", "tls");
        Assert.Contains($"{copies}:{copies}:ro", spec.Binds!);
        Assert.DoesNotContain(spec.Binds!, b => b.Contains("operator", StringComparison.Ordinal));
        Assert.Equal([RuntimeApiSocket.DeployerGroupId().ToString(System.Globalization.CultureInfo.InvariantCulture)], spec.GroupAdd!);
    }

    [Fact]
    public void IsCurrent_EdgeMadeWithoutTls_IsReplacedWhenTlsIsTurnedOn()
    {
        var plain = Options;
        plain.Tls.CertificatePath = "";
        var labels = EdgeContainer.Spec(plain).Labels;

        Assert.True(EdgeContainer.IsCurrent(labels, plain));
        Assert.False(EdgeContainer.IsCurrent(labels, Options));
    }

    [Fact]
    public async Task Prepare_ValidFile_WritesAGroupReadableCopyTheOperatorsFileNeverReaches()
    {
        First.WriteTo(CertificatePath);
        var (tls, api, _) = Tls();

        await tls.PrepareAsync(CancellationToken.None);

        var copy = EdgeTls.CopyPath(Options);
        Assert.Equal(First.Pem, await File.ReadAllTextAsync(copy));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(copy));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute,
            File.GetUnixFileMode(Path.GetDirectoryName(copy)!));
        Assert.Equal(First.Fingerprint, tls.Current!.Fingerprint);
        Assert.Empty(api.Commands);
    }

    /// <summary>
    /// The copy's folder made immutable (chattr +i, which holds for root too, as the tests run): the write of a replaced
    /// file fails as on a full disk. The edge keeps the copy it has, the reason is shown, nothing throws (reconciliation
    /// goes on), and once the folder takes writes again the next tick copies and applies the new file.
    /// </summary>
    [Fact]
    public async Task Prepare_CopyCannotBeWritten_KeepsTheOldCopyAndSaysWhy_ThenCopiesOnceItCan()
    {
        var (tls, api, _) = await ServingFirstAsync();
        Second.WriteTo(CertificatePath);
        var folder = EdgeTls.CopyDirectory(Options);
        var (immutable, output) = await LocalRegistry.TryRunProcessAsync("chattr", ["+i", folder]);
        Assert.True(immutable == 0, $"chattr +i {folder}: {output}");
        try
        {
            await tls.PrepareAsync(CancellationToken.None);
            await tls.ApplyAsync(CancellationToken.None);

            Assert.Equal(First.Pem, await File.ReadAllTextAsync(EdgeTls.CopyPath(Options)));
            Assert.Equal(First.Fingerprint, tls.Current!.Fingerprint);
            Assert.Equal(First.Fingerprint, api.Serving);
            Assert.Contains($"its checked copy could not be written to {EdgeTls.CopyPath(Options)}", tls.Problem, StringComparison.Ordinal);
            Assert.Contains("the edge keeps serving", tls.Problem, StringComparison.Ordinal);
        }
        finally
        {
            var (mutable, again) = await LocalRegistry.TryRunProcessAsync("chattr", ["-i", folder]);
            Assert.True(mutable == 0, $"chattr -i {folder}: {again}");
        }

        await tls.PrepareAsync(CancellationToken.None);
        await tls.ApplyAsync(CancellationToken.None);

        Assert.Equal(Second.Pem, await File.ReadAllTextAsync(EdgeTls.CopyPath(Options)));
        Assert.Equal(Second.Fingerprint, api.Serving);
        Assert.Null(tls.Problem);
        // This overload lists hidden files too, such as the copy's ".edge.pem.<guid>.tmp".
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
    }

    [Fact]
    public async Task Apply_ReplacedFile_SetsAndCommitsTheNewCertificate()
    {
        var (tls, api, _) = await ServingFirstAsync();
        // Blank lines between the blocks, as `cat cert.pem key.pem` of some tools gives: they would end the payload.
        TestCertificate.WriteFile(CertificatePath, Second.CertificatePem + "\n\n" + Second.KeyPem);

        await tls.PrepareAsync(CancellationToken.None);
        await tls.ApplyAsync(CancellationToken.None);

        var copy = EdgeTls.CopyPath(Options);
        Assert.Equal(Second.Fingerprint, api.Serving);
        Assert.Equal(["show", "show", $"set ssl cert {copy}", $"commit ssl cert {copy}", "show"], api.Commands.Select(c => c.StartsWith("show", StringComparison.Ordinal) ? "show" : c));
        Assert.Equal(Second.Pem.TrimEnd('\n'), api.Payloads.Single());
        Assert.Null(tls.Problem);
        // The deployer's own probes through the edge now accept the new certificate, and only it.
        using var second = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(Second.CertificatePem);
        using var first = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(First.CertificatePem);
        Assert.True(_pins.Accepts(second));
        Assert.False(_pins.Accepts(first));
    }

    [Theory]
    [InlineData("wrong key")]
    [InlineData("garbage")]
    [InlineData("removed")]
    public async Task Prepare_BadReplacement_KeepsTheCopyAndTheServedCertificate_AndSaysWhy(string fault)
    {
        var (tls, api, logs) = await ServingFirstAsync();
        switch (fault)
        {
            case "wrong key":
                TestCertificate.WriteFile(CertificatePath, Second.PemWithKeyOf(First));
                break;
            case "garbage":
                TestCertificate.WriteFile(CertificatePath, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
                break;
            default:
                File.Delete(CertificatePath);
                break;
        }

        await tls.PrepareAsync(CancellationToken.None);
        await tls.ApplyAsync(CancellationToken.None);
        await tls.PrepareAsync(CancellationToken.None);

        Assert.Equal(First.Pem, await File.ReadAllTextAsync(EdgeTls.CopyPath(Options)));
        Assert.Equal(First.Fingerprint, api.Serving);
        Assert.DoesNotContain(api.Commands, c => c.StartsWith("set ssl", StringComparison.Ordinal));
        Assert.Contains("Deployer:Edge:Tls:CertificatePath", tls.Problem, StringComparison.Ordinal);
        Assert.Contains("CN=edge-first", tls.Problem, StringComparison.Ordinal);
        // Logged once, not at every tick that reads the same bad file again.
        Assert.Single(logs.Entries, e => e.Id.Id == 5012);

        First.WriteTo(CertificatePath);
        await tls.PrepareAsync(CancellationToken.None);
        Assert.Null(tls.Problem);
    }

    [Fact]
    public async Task Apply_EdgeRefusesTheCommit_AbortsKeepsTheOldOneAndTriesAgainNextTick()
    {
        var (tls, api, _) = await ServingFirstAsync();
        Second.WriteTo(CertificatePath);
        await tls.PrepareAsync(CancellationToken.None);
        api.RefuseCommit = true;

        await tls.ApplyAsync(CancellationToken.None);

        Assert.Equal(First.Fingerprint, api.Serving);
        Assert.Contains($"abort ssl cert {EdgeTls.CopyPath(Options)}", api.Commands);
        Assert.Contains("Can't commit", tls.Problem, StringComparison.Ordinal);

        api.RefuseCommit = false;
        await tls.PrepareAsync(CancellationToken.None);
        await tls.ApplyAsync(CancellationToken.None);
        Assert.Equal(Second.Fingerprint, api.Serving);
        Assert.Null(tls.Problem);
    }

    [Fact]
    public async Task Apply_RuntimeApiUnreachable_DoesNotThrow_AndSaysWhy()
    {
        First.WriteTo(CertificatePath);
        var (tls, api, _) = Tls();
        api.Unreachable = true;
        await tls.PrepareAsync(CancellationToken.None);

        await tls.ApplyAsync(CancellationToken.None);

        Assert.Contains("ConnectionRefused", tls.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_RuntimeApiNeverAnswers_GivesUpAtTheTimeout_AndSaysWhy()
    {
        First.WriteTo(CertificatePath);
        // A socket that accepts and never answers: HAProxy wedged.
        var socketPath = Path.Combine(_directory, "silent.sock");
        using var silent = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        silent.Bind(new UnixDomainSocketEndPoint(socketPath));
        silent.Listen(8);
        var options = Options;
        options.RuntimeApi = "unix:" + socketPath;
        options.RuntimeApiTimeout = TimeSpan.FromMilliseconds(300);
        var tls = new EdgeTls(Microsoft.Extensions.Options.Options.Create(options), new PinnedCertificates(), new ListLogger<EdgeTls>());
        await tls.PrepareAsync(CancellationToken.None);

        await tls.ApplyAsync(CancellationToken.None);

        Assert.Contains("did not answer", tls.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseFingerprint_HaproxysShowSslCertReply_GivesTheSha1Line()
    {
        const string Reply = "Filename: /x/edge.pem\nStatus: Used\nSerial: 7B53\nAlgorithm: EC256\nSHA1 FingerPrint: 650A6992F4223FC1B8C4EFBD45D7AD68ACB4BE20\nSubject: /CN=a\n\n";

        Assert.Equal("650A6992F4223FC1B8C4EFBD45D7AD68ACB4BE20", EdgeTls.ParseFingerprint(Reply));
        Assert.Null(EdgeTls.ParseFingerprint("Can't display the certificate: Not found or the certificate is a bundle!\n"));
    }

    /// <summary>The first certificate copied and served by the edge, as after a start with TLS on.</summary>
    private async Task<(EdgeTls Tls, ScriptedRuntimeApi Api, ListLogger<EdgeTls> Logs)> ServingFirstAsync()
    {
        First.WriteTo(CertificatePath);
        var (tls, api, logs) = Tls();
        await tls.PrepareAsync(CancellationToken.None);
        api.Serving = First.Fingerprint;
        await tls.ApplyAsync(CancellationToken.None);
        return (tls, api, logs);
    }

    private (EdgeTls Tls, ScriptedRuntimeApi Api, ListLogger<EdgeTls> Logs) Tls()
    {
        var api = new ScriptedRuntimeApi();
        var logs = new ListLogger<EdgeTls>();
        return (new EdgeTls(Microsoft.Extensions.Options.Options.Create(Options), api, _pins, logs), api, logs);
    }

    private static ServiceProvider Provider(string certificatePath) =>
        new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Deployer:Edge:Tls:CertificatePath"] = certificatePath,
            }).Build())
            .AddLogging()
            .AddEdgeProxy()
            .BuildServiceProvider();

    /// <summary>HAProxy's ssl cert commands as 2.6 answers them, with one certificate transaction.</summary>
    private sealed class ScriptedRuntimeApi : IEdgeRuntimeApi
    {
        private string? _pending;

        public List<string> Commands { get; } = [];

        public List<string> Payloads { get; } = [];

        public string? Serving { get; set; }

        public bool RefuseCommit { get; set; }

        public bool Unreachable { get; set; }

        public Task<string> ExecuteAsync(string command, CancellationToken cancellationToken)
        {
            Record(command);
            var words = command.Split(' ');
            return Task.FromResult(words switch
            {
                ["show", "ssl", "cert", _] => Serving is null ? "Can't display the certificate: Not found!\n" : $"Status: Used\nSHA1 FingerPrint: {Serving}\n\n",
                ["commit", "ssl", "cert", _] when RefuseCommit || _pending is null => "inconsistencies between private key and certificate loaded.\nCan't commit!\n",
                ["commit", "ssl", "cert", var file] => Commit(file),
                ["abort", "ssl", "cert", var file] => Abort(file),
                _ => $"Unknown command: '{command}'\n",
            });
        }

        public Task<string> ExecuteAsync(string command, string payload, CancellationToken cancellationToken)
        {
            Record(command);
            Payloads.Add(payload);
            _pending = EdgeCertificate.Parse(payload, "payload").Fingerprint;
            return Task.FromResult($"Transaction created for certificate {command.Split(' ')[^1]}!\n");
        }

        private void Record(string command)
        {
            Commands.Add(command);
            if (Unreachable)
            {
                throw new EdgeRuntimeApiException("runtime API at /x unreachable: ConnectionRefused", isTransient: true);
            }
        }

        private string Commit(string file)
        {
            Serving = _pending;
            _pending = null;
            return $"Committing {file}.\nSuccess!\n";
        }

        private string Abort(string file)
        {
            _pending = null;
            return $"Transaction aborted for certificate '{file}'!\n";
        }
    }
}
