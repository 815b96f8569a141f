using System.ComponentModel.DataAnnotations;

namespace StudentPerformance.Deployer.Readiness;

/// <summary>
/// Section <c>Deployer:QualityGate</c>: before any traffic, the candidate and the live model score a labelled golden
/// set and the candidate is refused when it is worse than the limits below (docs/quality-gate.md).
/// </summary>
public sealed class QualityGateOptions
{
    public const string SectionName = "Deployer:QualityGate";

    /// <summary>On or off. Unset: on exactly when <see cref="GoldenSetPath"/> names a file.</summary>
    public bool? Enabled { get; set; }

    /// <summary>
    /// The golden set: a CSV in the dataset's own format (either header spelling that <c>train</c> reads). A relative
    /// path is taken from the folder of the deployer's executable, where the image keeps its default set.
    /// </summary>
    public string GoldenSetPath { get; set; } = "";

    /// <summary>Fewest rows a golden set may have; a smaller set stops the deployer at start.</summary>
    [Range(2, 1_000_000)]
    public int MinRows { get; set; } = 50;

    /// <summary>Absolute ceiling of the candidate's RMSE on the golden set.</summary>
    public double MaxRmse { get; set; } = 7.0;

    /// <summary>Absolute floor of the candidate's R² on the golden set.</summary>
    public double MinR2 { get; set; } = 0.75;

    /// <summary>
    /// The candidate's RMSE may exceed the live model's by at most this fraction (0.05 = 5 %), judged with
    /// <see cref="Confidence"/>: refused only when the whole bootstrap interval of the difference lies above it.
    /// </summary>
    public double MaxRelativeRmseIncrease { get; set; } = 0.05;

    /// <summary>
    /// Two-sided confidence of the paired bootstrap interval of RMSE(candidate) − RMSE(live) (0.95 = 95 %). 0 judges
    /// the bootstrap's median alone, close to comparing the two RMSEs as they are.
    /// </summary>
    [Range(0.0, 0.9999, ErrorMessage = "Deployer:QualityGate:Confidence must be between {1} and {2}.")]
    public double Confidence { get; set; } = 0.95;

    /// <summary>How many bootstrap resamples of the golden rows (fixed seed, so the same answers give the same interval).</summary>
    [Range(100, 100_000, ErrorMessage = "Deployer:QualityGate:BootstrapResamples must be between {1} and {2}.")]
    public int BootstrapResamples { get; set; } = 2000;

    /// <summary>A categorical value (for example lunch = free/reduced) is judged as its own slice when at least this many golden rows have it.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Deployer:QualityGate:MinSliceRows must be between {1} and {2}.")]
    public int MinSliceRows { get; set; } = 30;

    /// <summary>In any slice, the candidate's RMSE may exceed the live model's there by at most this fraction.</summary>
    public double MaxSliceRmseIncrease { get; set; } = 0.15;

    /// <summary>Largest allowed difference between the candidate's and the live model's answer on any row. Unset: off.</summary>
    public double? MaxAbsoluteDelta { get; set; }

    /// <summary>How long one model may take to answer <c>GetModelInfo</c> and all the <c>PredictBatch</c> calls.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether the gate runs: <see cref="Enabled"/> when set, otherwise whether a golden set is configured.</summary>
    public bool IsEnabled => Enabled ?? !string.IsNullOrWhiteSpace(GoldenSetPath);

    /// <summary><see cref="GoldenSetPath"/> made absolute against the executable's folder.</summary>
    public string ResolvedGoldenSetPath => Path.GetFullPath(GoldenSetPath, AppContext.BaseDirectory);

    internal static string Key(string name) => $"{SectionName}:{name}";
}
