using System.Globalization;

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
}

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

        if (live is not null)
        {
            var factor = 1 + options.MaxRelativeRmseIncrease;
            if (!(candidate.Rmse <= live.Rmse * factor))
            {
                refusals.Add(Invariant($"candidate RMSE {candidate.Rmse:0.00} > live {live.Rmse:0.00} × {factor:0.00###} ({Key(nameof(options.MaxRelativeRmseIncrease))})"));
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

        return new QualityVerdict(refusals, warnings);
    }

    private static string Key(string name) => QualityGateOptions.Key(name);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
