using System.Globalization;

namespace StudentPerformance.Deployer.Readiness;

/// <summary>
/// The shadow step's outcome, as /status, the webhook and <c>evaluate</c> show it. <see cref="Result"/> is
/// <c>passed</c>, <c>refused</c> or <c>skipped</c> (too few inputs, no live model: see <see cref="Warnings"/>).
/// The figures are null when nothing was compared.
/// </summary>
public sealed record ShadowReport(
    string Result,
    int Samples,
    int Compared,
    int CandidateRejected,
    int LiveRejected,
    DeltaQuantiles? AbsoluteDelta,
    double? ShareBeyondTolerance,
    double? Ks,
    double Tolerance,
    IReadOnlyList<string> Refusals,
    IReadOnlyList<string> Warnings)
{
    public const string PassedResult = "passed";
    public const string RefusedResult = "refused";
    public const string SkippedResult = "skipped";

    public bool Refused => Result == RefusedResult;

    /// <summary>How long fetching and replaying took.</summary>
    public double DurationMs { get; init; }

    /// <summary>Where the inputs came from: the live slot's admin endpoint, or a recorded file.</summary>
    public string Source { get; init; } = "";

    public static ShadowReport Skipped(int samples, double tolerance, string warning) =>
        new(SkippedResult, samples, 0, 0, 0, null, null, null, tolerance, [], [warning]);
}

/// <summary>|candidate − live| over the compared inputs: p50, p95, p99 (numpy's linear interpolation) and max.</summary>
public sealed record DeltaQuantiles(double P50, double P95, double P99, double Max);

/// <summary>The pure part of the shadow step: figures from two models' answers to the same inputs, and the limits.</summary>
public static class ShadowRules
{
    /// <summary>
    /// Judges the candidate. <paramref name="candidate"/>[i] and <paramref name="live"/>[i] answer the same input;
    /// null is a rejected input. An input the live model rejects is left out (nothing to compare with); one the live
    /// model accepts and the candidate rejects counts against <c>MaxRejected</c>. A value equal to a limit passes.
    /// </summary>
    public static ShadowReport Judge(ShadowGateOptions options, IReadOnlyList<double?> candidate, IReadOnlyList<double?> live)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(live);
        if (candidate.Count != live.Count)
        {
            throw new ArgumentException($"candidate {candidate.Count} and live {live.Count} answers must be equally many");
        }

        var candidateAnswers = new List<double>(live.Count);
        var liveAnswers = new List<double>(live.Count);
        var deltas = new List<double>(live.Count);
        int candidateRejected = 0, liveRejected = 0;
        for (var i = 0; i < live.Count; i++)
        {
            if (live[i] is not { } l)
            {
                liveRejected++;
                continue;
            }

            if (candidate[i] is not { } c)
            {
                candidateRejected++;
                continue;
            }

            candidateAnswers.Add(c);
            liveAnswers.Add(l);
            deltas.Add(Math.Abs(c - l));
        }

        var refusals = new List<string>();
        var warnings = new List<string>();
        if (candidateRejected > options.MaxRejected)
        {
            refusals.Add(Invariant($"the candidate rejects {candidateRejected} of {live.Count - liveRejected} recent inputs that the live model accepts > {options.MaxRejected} ({Key(nameof(options.MaxRejected))})"));
        }

        if (liveRejected > 0)
        {
            warnings.Add(Invariant($"the live model rejected {liveRejected} of its own sampled inputs; they were left out"));
        }

        if (deltas.Count == 0)
        {
            if (refusals.Count == 0)
            {
                warnings.Add("no input was answered by both models: nothing to compare");
            }

            return new ShadowReport(refusals.Count > 0 ? ShadowReport.RefusedResult : ShadowReport.SkippedResult,
                live.Count, 0, candidateRejected, liveRejected, null, null, null, options.Tolerance, refusals, warnings);
        }

        deltas.Sort();
        var quantiles = new DeltaQuantiles(GateStatistics.Quantile(deltas, 0.50), GateStatistics.Quantile(deltas, 0.95), GateStatistics.Quantile(deltas, 0.99), deltas[^1]);
        var beyond = deltas.Count(d => d > options.Tolerance) / (double)deltas.Count;
        var ks = GateStatistics.KolmogorovSmirnov(candidateAnswers, liveAnswers, options.KsSlack);
        if (!(beyond <= options.MaxShareBeyondTolerance))
        {
            refusals.Add(Invariant($"{beyond:0.0%} of {deltas.Count} recent inputs differ from live by more than {options.Tolerance:0.##} points ({Key(nameof(options.Tolerance))}) > {options.MaxShareBeyondTolerance:0.0%} ({Key(nameof(options.MaxShareBeyondTolerance))})"));
        }

        if (!(quantiles.P99 <= options.MaxP99Delta))
        {
            refusals.Add(Invariant($"p99 |candidate − live| on recent inputs {quantiles.P99:0.00} > {options.MaxP99Delta:0.00} ({Key(nameof(options.MaxP99Delta))}); max {quantiles.Max:0.00}"));
        }

        if (!(ks <= options.MaxKs))
        {
            refusals.Add(Invariant($"KS statistic between the candidate's and live's answers on recent inputs {ks:0.000} > {options.MaxKs:0.000} ({Key(nameof(options.MaxKs))}), shifts up to {options.KsSlack:0.##} points not counted ({Key(nameof(options.KsSlack))})"));
        }

        return new ShadowReport(refusals.Count > 0 ? ShadowReport.RefusedResult : ShadowReport.PassedResult,
            live.Count, deltas.Count, candidateRejected, liveRejected, quantiles, beyond, ks, options.Tolerance, refusals, warnings);
    }

    private static string Key(string name) => ShadowGateOptions.Key(name);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
