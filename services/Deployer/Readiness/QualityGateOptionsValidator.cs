using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Readiness;

/// <summary>
/// Checks the limits and reads the golden set, so that a missing, unreadable or bad set stops the deployer at start
/// with one line that names the key, the reason and, for a bad row, its line.
/// </summary>
public sealed class QualityGateOptionsValidator(GoldenSetCache goldenSets) : IValidateOptions<QualityGateOptions>
{
    public ValidateOptionsResult Validate(string? name, QualityGateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!(options.MaxRmse > 0))
        {
            errors.Add($"{Key(nameof(options.MaxRmse))} ({options.MaxRmse}) must be positive.");
        }

        if (!(options.MinR2 <= 1))
        {
            errors.Add($"{Key(nameof(options.MinR2))} ({options.MinR2}) must be at most 1.");
        }

        if (!(options.MaxRelativeRmseIncrease >= 0))
        {
            errors.Add($"{Key(nameof(options.MaxRelativeRmseIncrease))} ({options.MaxRelativeRmseIncrease}) must be 0 or positive.");
        }

        if (!(options.MaxSliceRmseIncrease >= 0))
        {
            errors.Add($"{Key(nameof(options.MaxSliceRmseIncrease))} ({options.MaxSliceRmseIncrease}) must be 0 or positive.");
        }

        if (options.MaxAbsoluteDelta is { } delta && !(delta >= 0))
        {
            errors.Add($"{Key(nameof(options.MaxAbsoluteDelta))} ({delta}) must be 0 or positive, or unset (off).");
        }

        if (options.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{Key(nameof(options.Timeout))} ({options.Timeout}) must be positive.");
        }

        if (options.IsEnabled)
        {
            if (string.IsNullOrWhiteSpace(options.GoldenSetPath))
            {
                errors.Add($"{Key(nameof(options.GoldenSetPath))} must name the golden set CSV while {Key(nameof(options.Enabled))} is true.");
            }
            else if (errors.Count == 0)
            {
                try
                {
                    goldenSets.Get(options);
                }
                catch (GoldenSetException ex)
                {
                    errors.Add($"{Key(nameof(options.GoldenSetPath))}: {ex.Message}");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static string Key(string name) => QualityGateOptions.Key(name);
}
