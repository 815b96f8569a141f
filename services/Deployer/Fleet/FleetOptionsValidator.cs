using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Fleet;

/// <summary>Checks <c>Deployer:Fleet</c> at start; every message names its key.</summary>
public sealed class FleetOptionsValidator : IValidateOptions<FleetOptions>
{
    public ValidateOptionsResult Validate(string? name, FleetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Table))
        {
            errors.Add($"{Key(nameof(options.Table))} must name the DynamoDB table while {Key(nameof(options.Enabled))} is true.");
        }
        else if (options.Table.Length is < 3 or > 255 || !options.Table.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            errors.Add($"{Key(nameof(options.Table))} ('{options.Table}') is not a DynamoDB table name (3-255 of a-z, A-Z, 0-9, '_', '-', '.').");
        }

        if (options.ServiceUrl.Length > 0 && !IsHttpUrl(options.ServiceUrl))
        {
            errors.Add($"{Key(nameof(options.ServiceUrl))} ('{options.ServiceUrl}') must be an absolute http(s) URL, or empty.");
        }

        if (options.ServiceUrl.Length == 0 && string.IsNullOrWhiteSpace(options.Region))
        {
            errors.Add($"{Key(nameof(options.Region))} must name the table's AWS region (or set {Key(nameof(options.ServiceUrl))}).");
        }

        if (options.HostId.Length == 0 && !IsHttpUrl(options.MetadataUrl))
        {
            errors.Add($"{Key(nameof(options.MetadataUrl))} ('{options.MetadataUrl}') must be an absolute http(s) URL while {Key(nameof(options.HostId))} is empty.");
        }

        if (options.HostId.Length > 200)
        {
            errors.Add($"{Key(nameof(options.HostId))} is longer than 200 characters.");
        }

        if (options.LeaseDuration < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{Key(nameof(options.LeaseDuration))} ({options.LeaseDuration}) must be at least 1 second.");
        }

        if (options.RenewInterval <= TimeSpan.Zero || options.RenewInterval * 2 > options.LeaseDuration)
        {
            errors.Add($"{Key(nameof(options.RenewInterval))} ({options.RenewInterval}) must be positive and at most half of {Key(nameof(options.LeaseDuration))} ({options.LeaseDuration}), so that one lost renewal does not lose the claim.");
        }

        if (options.CallTimeout <= TimeSpan.Zero || options.CallTimeout >= options.RenewInterval)
        {
            errors.Add($"{Key(nameof(options.CallTimeout))} ({options.CallTimeout}) must be positive and below {Key(nameof(options.RenewInterval))} ({options.RenewInterval}).");
        }

        if (options.RecordRetention < TimeSpan.FromDays(1))
        {
            errors.Add($"{Key(nameof(options.RecordRetention))} ({options.RecordRetention}) must be at least one day.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    private static string Key(string property) => $"{FleetOptions.SectionName}:{property}";
}
