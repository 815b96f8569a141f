using System.Globalization;
using StudentPerformance.Features;
using StudentPerformance.V1;

namespace StudentPerformance.Deployer.Readiness;

/// <summary>How well one model's answers match the golden set's known scores.</summary>
public sealed record RegressionScores(double Rmse, double Mae, double R2)
{
    /// <summary>RMSE, MAE and R² (1 − SSres/SStot, about the mean of the known scores) of <paramref name="predicted"/>.</summary>
    public static RegressionScores Compute(IReadOnlyList<double> expected, IReadOnlyList<double> predicted)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(predicted);
        if (expected.Count == 0 || expected.Count != predicted.Count)
        {
            throw new ArgumentException($"expected {expected.Count} and predicted {predicted.Count} scores must be equally many, and not none");
        }

        var mean = expected.Average();
        double squared = 0, absolute = 0, total = 0;
        for (var i = 0; i < expected.Count; i++)
        {
            var error = expected[i] - predicted[i];
            squared += error * error;
            absolute += Math.Abs(error);
            total += (expected[i] - mean) * (expected[i] - mean);
        }

        return new RegressionScores(Math.Sqrt(squared / expected.Count), absolute / expected.Count, 1 - (squared / total));
    }
}

/// <summary>The gate's decision: refusals (any one refuses the candidate) and warnings (reported, never refusing).</summary>
public sealed record QualityVerdict(IReadOnlyList<string> Refusals, IReadOnlyList<string> Warnings)
{
    public bool Passed => Refusals.Count == 0;

    /// <summary>The bootstrap interval of RMSE(candidate) − RMSE(live); null without a live model.</summary>
    public RmseDifference? RmseDifference { get; init; }

    /// <summary>The largest RMSE increase the interval is judged against (live RMSE × the allowed fraction).</summary>
    public double? AllowedRmseIncrease { get; init; }

    /// <summary>Every slice with enough rows; empty without a live model.</summary>
    public IReadOnlyList<SliceQuality> Slices { get; init; } = [];
}

/// <summary>
/// Both models on the golden rows whose <paramref name="Feature"/> is <paramref name="Value"/> (for example lunch =
/// free/reduced). <paramref name="Regressed"/>: the candidate's RMSE there exceeds live × (1 + the slice allowance).
/// </summary>
public sealed record SliceQuality(string Feature, string Value, int Rows, double CandidateRmse, double LiveRmse, bool Regressed);

/// <summary>The pure part of the quality gate: the refusal rules and the claimed-holdout warning.</summary>
public static class QualityRules
{
    /// <summary>Claimed and measured RMSE more than this factor apart is a sign of a broken pipeline.</summary>
    public const double ClaimFactor = 2.0;

    /// <summary>
    /// Judges the candidate. <paramref name="live"/> and <paramref name="livePredictions"/> are null when there is no
    /// live model to compare with (first deployment, live not answering, operator rollback): absolute limits only.
    /// Every refusal names the metric, both values and the key. A value equal to a limit passes.
    /// </summary>
    public static QualityVerdict Judge(
        QualityGateOptions options,
        GoldenSet golden,
        RegressionScores candidate,
        IReadOnlyList<double> candidatePredictions,
        double? claimedHoldoutRmse,
        RegressionScores? live,
        IReadOnlyList<double>? livePredictions)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(golden);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(candidatePredictions);
        var refusals = new List<string>();
        var warnings = new List<string>();
        if (!(candidate.Rmse <= options.MaxRmse))
        {
            refusals.Add(Invariant($"candidate RMSE {candidate.Rmse:0.00} > {options.MaxRmse:0.00###} ({Key(nameof(options.MaxRmse))})"));
        }

        if (!(candidate.R2 >= options.MinR2))
        {
            refusals.Add(Invariant($"candidate R² {candidate.R2:0.000} < {options.MinR2:0.00###} ({Key(nameof(options.MinR2))})"));
        }

        RmseDifference? difference = null;
        double? allowed = null;
        IReadOnlyList<SliceQuality> slices = [];
        if (live is not null && livePredictions is not null)
        {
            // Two RMSEs on the same 200 rows are noisy numbers: refuse only when the whole interval of the difference
            // lies above the allowance, i.e. the candidate is worse beyond it at the configured confidence.
            allowed = live.Rmse * options.MaxRelativeRmseIncrease;
            difference = GateStatistics.PairedRmseBootstrap(golden.Expected, candidatePredictions, livePredictions,
                options.BootstrapResamples, BootstrapSeed, options.Confidence);
            if (!(difference.Lower <= allowed))
            {
                refusals.Add(Invariant(
                    $"candidate RMSE {candidate.Rmse:0.00} > live {live.Rmse:0.00} + {allowed:0.00} at {options.Confidence:0.###} confidence ({Key(nameof(options.Confidence))}): the difference {difference.Observed:+0.00;-0.00} has the interval [{difference.Lower:+0.00;-0.00}, {difference.Upper:+0.00;-0.00}], wholly above live × {options.MaxRelativeRmseIncrease:0.00###} ({Key(nameof(options.MaxRelativeRmseIncrease))})"));
            }

            slices = Slices(options, golden, candidatePredictions, livePredictions);
            foreach (var slice in slices.Where(s => s.Regressed))
            {
                refusals.Add(Invariant(
                    $"slice {slice.Feature}={slice.Value} ({slice.Rows} rows): candidate RMSE {slice.CandidateRmse:0.00} > live {slice.LiveRmse:0.00} × {1 + options.MaxSliceRmseIncrease:0.00###} ({Key(nameof(options.MaxSliceRmseIncrease))})"));
            }
        }

        if (options.MaxAbsoluteDelta is { } maxDelta && livePredictions is not null)
        {
            var worst = -1;
            var worstDelta = 0.0;
            for (var i = 0; i < livePredictions.Count; i++)
            {
                var delta = Math.Abs(candidatePredictions[i] - livePredictions[i]);
                if (delta > worstDelta || double.IsNaN(delta))
                {
                    (worst, worstDelta) = (i, delta);
                }
            }

            if (worst >= 0 && !(worstDelta <= maxDelta))
            {
                refusals.Add(Invariant(
                    $"candidate {candidatePredictions[worst]:0.00} differs from live {livePredictions[worst]:0.00} by {worstDelta:0.00} > {maxDelta:0.00###} on golden line {golden.Rows[worst].Line} ({Key(nameof(options.MaxAbsoluteDelta))})"));
            }
        }

        if (claimedHoldoutRmse is > 0 and var claimed
            && (candidate.Rmse > claimed * ClaimFactor || claimed > candidate.Rmse * ClaimFactor))
        {
            warnings.Add(Invariant(
                $"candidate claims holdout RMSE {claimed:0.00} but measures {candidate.Rmse:0.00} on the golden set, more than {ClaimFactor:0}× apart: its training pipeline may be broken"));
        }

        return new QualityVerdict(refusals, warnings) { RmseDifference = difference, AllowedRmseIncrease = allowed, Slices = slices };
    }

    /// <summary>The bootstrap's fixed seed: the same golden set and the same answers always give the same interval.</summary>
    public const ulong BootstrapSeed = 19;

    /// <summary>
    /// Per-slice RMSE for every value of every categorical feature that at least <c>MinSliceRows</c> golden rows
    /// have; a slice is regressed when the candidate's RMSE exceeds live × (1 + <c>MaxSliceRmseIncrease</c>).
    /// Slices are listed feature by feature in schema order, values in ordinal order.
    /// </summary>
    public static IReadOnlyList<SliceQuality> Slices(QualityGateOptions options, GoldenSet golden, IReadOnlyList<double> candidatePredictions, IReadOnlyList<double> livePredictions)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(golden);
        var slices = new List<SliceQuality>();
        for (var feature = 0; feature < FeatureSchema.Categorical.Count; feature++)
        {
            var groups = golden.Rows
                .Select((row, index) => (Value: CategoricalValue(row.Student, feature), Index: index))
                .GroupBy(r => r.Value, StringComparer.Ordinal)
                .Where(g => g.Count() >= options.MinSliceRows)
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            foreach (var group in groups)
            {
                int[] rows = [.. group.Select(r => r.Index)];
                var candidateRmse = GateStatistics.Rmse(golden.Expected, candidatePredictions, rows);
                var liveRmse = GateStatistics.Rmse(golden.Expected, livePredictions, rows);
                slices.Add(new SliceQuality(FeatureSchema.Categorical[feature], group.Key, rows.Length, candidateRmse, liveRmse,
                    !(candidateRmse <= liveRmse * (1 + options.MaxSliceRmseIncrease))));
            }
        }

        return slices;
    }

    private static string CategoricalValue(Student student, int feature) => feature switch
    {
        0 => student.Gender,
        1 => student.RaceEthnicity,
        2 => student.ParentalLevelOfEducation,
        3 => student.Lunch,
        _ => student.TestPreparationCourse,
    };

    private static string Key(string name) => QualityGateOptions.Key(name);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
