using System.ComponentModel.DataAnnotations;

namespace StudentPerformance.Deployer.Readiness;

/// <summary>
/// Section <c>Deployer:ShadowGate</c>: after the labelled gate and before any traffic, the live slot's sample of
/// recent real inputs is replayed through the candidate and the live model, and the candidate is refused when their
/// answers differ beyond these limits (docs/quality-gate.md). The defaults sit above what two training seeds of the
/// same data differ by (measured: docs/quality-gate.md, "Where the defaults come from").
/// </summary>
public sealed class ShadowGateOptions : IValidatableObject
{
    public const string SectionName = "Deployer:ShadowGate";

    /// <summary>Run the shadow step.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>With fewer inputs in the sample the step is skipped with a warning (a fresh host, a quiet service).</summary>
    [Range(1, 1_000_000, ErrorMessage = "Deployer:ShadowGate:MinSamples must be between {1} and {2}.")]
    public int MinSamples { get; set; } = 200;

    /// <summary>An input whose two answers differ by more than this many points counts as beyond tolerance.</summary>
    public double Tolerance { get; set; } = 5;

    /// <summary>Largest share (0..1) of replayed inputs whose answers differ by more than <see cref="Tolerance"/>.</summary>
    public double MaxShareBeyondTolerance { get; set; } = 0.01;

    /// <summary>Largest two-sample Kolmogorov–Smirnov statistic between the two models' answers (0..1).</summary>
    public double MaxKs { get; set; } = 0.2;

    /// <summary>
    /// Points by which one model's answers may sit apart from the other's before the KS statistic counts it: a shift
    /// within it measures 0. Without it, traffic concentrated on a few inputs (one client repeating one request)
    /// turns any difference at all, even a retrain's noise, into a KS of 1.
    /// </summary>
    public double KsSlack { get; set; } = 2;

    /// <summary>Largest 99th percentile of |candidate − live|, in points.</summary>
    public double MaxP99Delta { get; set; } = 3;

    /// <summary>How many inputs the live model accepts and the candidate may reject: 0, each one refuses.</summary>
    [Range(0, int.MaxValue, ErrorMessage = "Deployer:ShadowGate:MaxRejected must be 0 or more.")]
    public int MaxRejected { get; set; }

    /// <summary>How long fetching the sample, and replaying it through one model, may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    internal static string Key(string name) => $"{SectionName}:{name}";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!(Tolerance >= 0))
        {
            yield return new ValidationResult($"{Key(nameof(Tolerance))} ({Tolerance}) must be 0 or positive.", [nameof(Tolerance)]);
        }

        if (MaxShareBeyondTolerance is not (>= 0 and <= 1))
        {
            yield return new ValidationResult($"{Key(nameof(MaxShareBeyondTolerance))} ({MaxShareBeyondTolerance}) must be between 0 and 1.", [nameof(MaxShareBeyondTolerance)]);
        }

        if (MaxKs is not (>= 0 and <= 1))
        {
            yield return new ValidationResult($"{Key(nameof(MaxKs))} ({MaxKs}) must be between 0 and 1.", [nameof(MaxKs)]);
        }

        if (!(KsSlack >= 0))
        {
            yield return new ValidationResult($"{Key(nameof(KsSlack))} ({KsSlack}) must be 0 or positive.", [nameof(KsSlack)]);
        }

        if (!(MaxP99Delta >= 0))
        {
            yield return new ValidationResult($"{Key(nameof(MaxP99Delta))} ({MaxP99Delta}) must be 0 or positive.", [nameof(MaxP99Delta)]);
        }

        if (Timeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult($"{Key(nameof(Timeout))} ({Timeout}) must be positive.", [nameof(Timeout)]);
        }
    }
}
