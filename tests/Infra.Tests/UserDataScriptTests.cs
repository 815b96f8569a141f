using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace StudentPerformance.Infra.Tests;

/// <summary>
/// The bootstrap runs the real tools here on what the user data would write: bash parses the script, and
/// docker-compose 1.29 (the version the hosts install) resolves the compose file with the .env and override.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class UserDataScriptTests
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string EdgeDigest = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    public static TheoryData<string> HostStacks => ["Host", "Fleet"];

    [Theory]
    [MemberData(nameof(HostStacks))]
    public async Task UserData_IsValidBash(string stack)
    {
        using var folder = new TempFolder();
        var script = Path.Combine(folder.Path, "user-data.sh");
        await File.WriteAllTextAsync(script, Resolve(SynthesizedApp.Default.UserData(stack)));

        var (exitCode, output) = await RunAsync("bash", folder.Path, "-n", script);

        Assert.True(exitCode == 0, output);
    }

    [Theory]
    [InlineData("Host", null)]
    [InlineData("Fleet", "00:00:30")]
    public async Task ComposeFiles_ResolveToBlueGreenWithTheDeployerAndEdgeByDigestAndThePollJitter(string stack, string? jitter)
    {
        var script = Resolve(SynthesizedApp.Default.UserData(stack));
        using var folder = new TempFolder();
        await File.WriteAllTextAsync(Path.Combine(folder.Path, "docker-compose.yml"), HereDoc(script, "COMPOSE_EOF")! + "\n");
        await File.WriteAllTextAsync(
            Path.Combine(folder.Path, ".env"),
            HereDoc(script, "ENV_EOF")!.Replace("$(getent group docker | cut -d: -f3)", "994", StringComparison.Ordinal) + "\n");
        var files = new List<string> { "-f", "docker-compose.yml" };
        if (HereDoc(script, "OVERRIDE_EOF") is { } overrideFile)
        {
            await File.WriteAllTextAsync(Path.Combine(folder.Path, "docker-compose.override.yml"), overrideFile + "\n");
            files.AddRange(["-f", "docker-compose.override.yml"]);
        }

        var (exitCode, config) = await RunAsync("docker-compose", folder.Path, [.. files, "config"]);

        Assert.True(exitCode == 0, config);
        Assert.Contains($"image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/student-performance-deployer@{Digest}", config, StringComparison.Ordinal);
        Assert.Contains($"image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/student-performance-edge@{EdgeDigest}", config, StringComparison.Ordinal);
        Assert.Contains($"Deployer__Edge__Image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/student-performance-edge@{EdgeDigest}", config, StringComparison.Ordinal);
        Assert.Contains("Deployer__Strategy: BlueGreen", config, StringComparison.Ordinal);
        Assert.Contains("Deployer__Registry__Region: eu-west-1", config, StringComparison.Ordinal);
        Assert.Contains("group_add:\n    - '994'", config, StringComparison.Ordinal);
        // The edge binds the public ports on all addresses; the slots stay on loopback.
        Assert.Contains("Deployer__Container__HostIp: 0.0.0.0", config, StringComparison.Ordinal);
        Assert.Contains("Deployer__Container__Ports__0: 8000:8000", config, StringComparison.Ordinal);
        Assert.Contains("Deployer__Container__Ports__1: 8080:8080", config, StringComparison.Ordinal);
        // The state folder at the same path inside as on the host, and the edge's configuration in it.
        Assert.Contains("- /var/lib/student-performance-deployer:/var/lib/student-performance-deployer:rw", config, StringComparison.Ordinal);
        Assert.Contains("Deployer__StateDirectory: /var/lib/student-performance-deployer\n", config, StringComparison.Ordinal);
        Assert.Contains("Deployer__Edge__ConfigDirectory: /var/lib/student-performance-deployer/edge", config, StringComparison.Ordinal);
        // Signed images only, with the key the bootstrap wrote, mounted read-only at the path the setting names.
        Assert.Contains("Deployer__Signature__PublicKeyPath: /etc/student-performance/cosign.pub\n", config, StringComparison.Ordinal);
        Assert.Contains("Deployer__Signature__Required: \"true\"\n", config, StringComparison.Ordinal);
        Assert.Contains("- /etc/student-performance/cosign.pub:/etc/student-performance/cosign.pub:ro\n", config, StringComparison.Ordinal);
        if (jitter is null)
        {
            Assert.DoesNotContain("Deployer__PollJitter", config, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains($"Deployer__PollJitter: {jitter}\n", config, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// The bootstrap's own function, run by bash with an <c>aws</c> on the PATH that answers as the CLI does (the
    /// SubjectPublicKeyInfo DER, base64, on one line): the PEM it writes is the same P-256 key.
    /// </summary>
    [Fact]
    public async Task SigningPublicKey_WritesThePemOfTheKeyKmsReturns()
    {
        using var folder = new TempFolder();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var der = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());
        await FakeAwsAsync(folder, $$"""
            [ "$*" = "kms get-public-key --region eu-west-1 --key-id alias/student-performance-image-signing --query PublicKey --output text" ] \
              || { echo "unexpected arguments: $*" >&2; exit 2; }
            echo '{{der}}'
            """);
        var pem = Path.Combine(folder.Path, "cosign.pub");

        var (exitCode, output) = await RunSigningPublicKeyAsync(folder, pem);

        Assert.True(exitCode == 0, output);
        var text = await File.ReadAllTextAsync(pem);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----\n", text, StringComparison.Ordinal);
        Assert.All(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.InRange(line.Length, 1, 64));
        using var read = ECDsa.Create();
        read.ImportFromPem(text);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), read.ExportSubjectPublicKeyInfo());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(pem));
    }

    [Fact]
    public async Task SigningPublicKey_KmsRefuses_FailsNamingTheAlias_AndWritesNoKey()
    {
        using var folder = new TempFolder();
        await FakeAwsAsync(folder, """
            echo "An error occurred (NotFoundException) when calling the GetPublicKey operation: Alias not found" >&2
            exit 254
            """);
        var pem = Path.Combine(folder.Path, "cosign.pub");

        var (exitCode, output) = await RunSigningPublicKeyAsync(folder, pem);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("cannot read the public key of alias/student-performance-image-signing", output, StringComparison.Ordinal);
        Assert.False(File.Exists(pem));
        Assert.False(File.Exists(pem + ".new"));
    }

    private static async Task FakeAwsAsync(TempFolder folder, string body)
    {
        var bin = Directory.CreateDirectory(Path.Combine(folder.Path, "bin")).FullName;
        var aws = Path.Combine(bin, "aws");
        await File.WriteAllTextAsync(aws, "#!/bin/bash\n" + body + "\n");
        File.SetUnixFileMode(aws, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static async Task<(int ExitCode, string Output)> RunSigningPublicKeyAsync(TempFolder folder, string pem)
    {
        var function = Regex.Match(Resolve(SynthesizedApp.Default.UserData("Host")), @"^signing_public_key\(\) \{\n.*?\n\}\n", RegexOptions.Singleline | RegexOptions.Multiline);
        Assert.True(function.Success, "the user data defines no signing_public_key function");
        var script = Path.Combine(folder.Path, "run.sh");
        await File.WriteAllTextAsync(script, $"""
            set -euo pipefail
            export PATH="{folder.Path}/bin:$PATH"
            {function.Value}
            signing_public_key '{pem}'
            """);
        return await RunAsync("bash", folder.Path, script);
    }

    /// <summary>CloudFormation's substitutions, as a deploy in account 123456789012, eu-west-1, would make them.</summary>
    private static string Resolve(string script) => script
        .Replace("${AWS::AccountId}", "123456789012", StringComparison.Ordinal)
        .Replace("${AWS::Region}", "eu-west-1", StringComparison.Ordinal)
        .Replace("${AWS::URLSuffix}", "amazonaws.com", StringComparison.Ordinal)
        .Replace("${AWS::StackName}", "Fleet", StringComparison.Ordinal)
        .Replace("${DeployerImageDigest}", Digest, StringComparison.Ordinal)
        .Replace("${EdgeImageDigest}", EdgeDigest, StringComparison.Ordinal);

    private static string? HereDoc(string script, string delimiter)
    {
        var match = Regex.Match(script, $"<<'?{delimiter}'?\\n(.*?)\\n{delimiter}\\n", RegexOptions.Singleline);
        return match.Success ? match.Groups[1].Value : null;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string fileName, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("infra-userdata-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
