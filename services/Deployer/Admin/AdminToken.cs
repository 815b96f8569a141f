using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Rollout;

namespace StudentPerformance.Deployer.Admin;

/// <summary>
/// The admin API's bearer token, read from <c>Deployer:Admin:TokenFile</c> once at start. A missing file is created
/// with 32 random bytes and mode 0600; an existing file that others may read stops the start. Never logged.
/// </summary>
public sealed class AdminToken
{
    private const int MinimumLength = 32;
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly byte[] _token;

    public AdminToken(IOptions<AdminOptions> admin, IOptions<DeployerOptions> deployer, ILogger<AdminToken> logger)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(deployer);
        Path = PathOf(admin.Value, deployer.Value);
        _token = Encoding.UTF8.GetBytes(ReadOrCreate(Path, logger));
    }

    /// <summary>Where the token lives (for the operator and <c>Deployer probe</c>).</summary>
    public string Path { get; }

    /// <summary>The configured file, or the default one in the state directory.</summary>
    public static string PathOf(AdminOptions admin, DeployerOptions deployer)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(deployer);
        return string.IsNullOrWhiteSpace(admin.TokenFile)
            ? System.IO.Path.Combine(deployer.StateDirectory, AdminOptions.DefaultTokenFileName)
            : admin.TokenFile;
    }

    /// <summary>Compares in constant time, so that the answer's timing tells nothing about the token.</summary>
    public bool Matches(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _token);

    private static string ReadOrCreate(string path, ILogger logger)
    {
        const string Key = $"{AdminOptions.SectionName}:{nameof(AdminOptions.TokenFile)}";
        try
        {
            if (!File.Exists(path))
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
                var created = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = OwnerOnly;
                }

                using (var writer = new StreamWriter(path, Encoding.ASCII, options))
                {
                    writer.Write(created + "\n");
                }

                Log.TokenCreated(logger, path);
            }

            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~OwnerOnly & ~UnixFileMode.UserExecute) != 0)
            {
                throw new InvalidOperationException(
                    $"{Key} ('{path}') may be read by other users (mode {Convert.ToString((int)File.GetUnixFileMode(path), 8)}); run chmod 600 on it.");
            }

            var token = File.ReadAllText(path).Trim();
            return token.Length >= MinimumLength
                ? token
                : throw new InvalidOperationException($"{Key} ('{path}') must hold a token of at least {MinimumLength} characters; delete it to have a new one made.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{Key} ('{path}') cannot be read or created: {ex.Message}", ex);
        }
    }
}
