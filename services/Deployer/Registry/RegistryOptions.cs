using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Registry;

/// <summary>Which registry protocol the deployer speaks.</summary>
public enum RegistryKind
{
    /// <summary>Amazon ECR: DescribeImages and GetAuthorizationToken, signed with SigV4.</summary>
    Ecr,

    /// <summary>Any OCI Distribution API registry (docker-registry, Harbor, GHCR, ...).</summary>
    Oci,
}

/// <summary>Where the tracked image lives and how to reach it. Section <c>Deployer:Registry</c>.</summary>
public sealed class RegistryOptions
{
    public const string SectionName = "Deployer:Registry";

    /// <summary><c>Ecr</c> (default) or <c>Oci</c>.</summary>
    public RegistryKind Kind { get; set; } = RegistryKind.Ecr;

    /// <summary>
    /// Oci: the registry base URL, such as <c>http://127.0.0.1:5000</c> (required).
    /// Ecr: optional override of the API endpoint (default <c>https://api.ecr.&lt;region&gt;.amazonaws.com</c>).
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>Ecr: the AWS region, such as <c>eu-west-1</c>. Empty means the AWS SDK's region chain.</summary>
    public string? Region { get; set; }

    /// <summary>Ecr: the 12-digit account that owns the repository. Empty means the caller's account.</summary>
    public string? RegistryId { get; set; }

    /// <summary>Oci: basic-auth user (also used to fetch bearer tokens). Empty means anonymous.</summary>
    public string? Username { get; set; }

    /// <summary>Oci: basic-auth password. Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>Registry credentials are refreshed this long before they expire.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "06:00:00", ErrorMessage = "Deployer:Registry:TokenRefreshMargin must be between 00:00:00 and 06:00:00.")]
    public TimeSpan TokenRefreshMargin { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Timeout of one registry HTTP call (one attempt).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Deployer:Registry:RequestTimeout must be between 00:00:00.100 and 00:05:00.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of one call after a transient failure (5xx, 429, timeout, refused connection).</summary>
    [Range(0, 10, ErrorMessage = "Deployer:Registry:MaxRetryAttempts must be between 0 and 10.")]
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>First retry delay; later ones grow exponentially, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ErrorMessage = "Deployer:Registry:RetryBaseDelay must be between 00:00:00 and 00:01:00.")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the circuit stays open after repeated transient failures, so that polling backs off.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00", ErrorMessage = "Deployer:Registry:BreakDuration must be between 00:00:00.500 and 01:00:00.")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>The tracked image reference. Section <c>Deployer:Image</c>.</summary>
public sealed class ImageOptions
{
    public const string SectionName = "Deployer:Image";

    /// <summary>Repository name inside the registry, such as <c>student-performance</c>.</summary>
    [Required(ErrorMessage = "Deployer:Image:Repository is required.")]
    [RegularExpression(RepositoryPattern, ErrorMessage = "Deployer:Image:Repository must be a lowercase repository path such as 'student-performance' or 'team/student-performance'.")]
    public string Repository { get; set; } = "student-performance";

    /// <summary>The moving tag to track, such as <c>latest</c>.</summary>
    [Required(ErrorMessage = "Deployer:Image:Tag is required.")]
    [RegularExpression(TagPattern, ErrorMessage = "Deployer:Image:Tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.")]
    public string Tag { get; set; } = "latest";

    // The grammar of the OCI distribution spec (repository <name> and <reference> as a tag).
    internal const string RepositoryPattern = "^[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*$";
    internal const string TagPattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";
}

/// <summary>Rules that span several keys, which data annotations cannot express.</summary>
internal sealed partial class RegistryOptionsValidator : IValidateOptions<RegistryOptions>
{
    public ValidateOptionsResult Validate(string? name, RegistryOptions options)
    {
        var failures = new List<string>();
        var hasEndpoint = !string.IsNullOrWhiteSpace(options.Endpoint);
        if (hasEndpoint && !IsHttpUrl(options.Endpoint!))
        {
            failures.Add("Deployer:Registry:Endpoint must be an absolute http(s) URL, such as http://127.0.0.1:5000.");
        }

        if (!Enum.IsDefined(options.Kind))
        {
            failures.Add("Deployer:Registry:Kind must be Ecr or Oci.");
        }
        else if (options.Kind == RegistryKind.Oci)
        {
            if (!hasEndpoint)
            {
                failures.Add("Deployer:Registry:Endpoint is required when Deployer:Registry:Kind is Oci.");
            }

            if (string.IsNullOrEmpty(options.Username) != string.IsNullOrEmpty(options.Password))
            {
                failures.Add("Deployer:Registry:Username and Deployer:Registry:Password must be set together (or both left empty for anonymous access).");
            }
        }
        else
        {
            if (!string.IsNullOrWhiteSpace(options.Region) && !RegionPattern().IsMatch(options.Region))
            {
                failures.Add("Deployer:Registry:Region must be an AWS region name such as eu-west-1.");
            }

            if (!string.IsNullOrWhiteSpace(options.RegistryId) && !AccountPattern().IsMatch(options.RegistryId))
            {
                failures.Add("Deployer:Registry:RegistryId must be a 12-digit AWS account id.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment);

    [GeneratedRegex("^[a-z]{2}(-[a-z]+)+-[0-9]+$")]
    private static partial Regex RegionPattern();

    [GeneratedRegex("^[0-9]{12}$")]
    private static partial Regex AccountPattern();
}
