namespace StudentPerformance.Deployer.Readiness;

/// <summary>A confidence interval of RMSE(candidate) − RMSE(live), from a paired bootstrap over the same rows.</summary>
/// <param name="Observed">The difference on the rows as they are.</param>
/// <param name="Lower">The <c>(1 − Confidence) / 2</c> percentile of the resampled differences.</param>
/// <param name="Upper">The <c>(1 + Confidence) / 2</c> percentile.</param>
/// <param name="Confidence">The two-sided confidence of [Lower, Upper].</param>
/// <param name="Resamples">How many resamples were drawn.</param>
/// <param name="Seed">The seed of the row draws.</param>
public sealed record RmseDifference(double Observed, double Lower, double Upper, double Confidence, int Resamples, ulong Seed);

/// <summary>
/// The statistics both halves of the quality gate use. Pure functions, each checked against an independent
/// reference (numpy, scipy) in GateStatisticsTests.
/// </summary>
public static class GateStatistics
{
    /// <summary>
    /// The <paramref name="p"/> quantile (0..1) of <paramref name="sorted"/> (ascending) with linear interpolation
    /// between order statistics: Hyndman and Fan's type 7, numpy's and R's default.
    /// </summary>
    public static double Quantile(IReadOnlyList<double> sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            throw new ArgumentException("a quantile of no values is undefined", nameof(sorted));
        }

        if (p is < 0 or > 1 || double.IsNaN(p))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "a quantile is between 0 and 1");
        }

        var position = p * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + ((position - below) * (sorted[above] - sorted[below]));
    }

    /// <summary>
    /// The two-sample Kolmogorov–Smirnov statistic: the largest distance between the two empirical distribution
    /// functions (scipy.stats.ks_2samp's <c>statistic</c>). 0 for identical samples, 1 for disjoint ones.
    /// </summary>
    public static double KolmogorovSmirnov(IReadOnlyList<double> a, IReadOnlyList<double> b) => KolmogorovSmirnov(a, b, slack: 0);

    /// <summary>
    /// The Kolmogorov–Smirnov statistic with a horizontal slack of <paramref name="slack"/> (≥ 0): the largest
    /// <c>F_a(x − slack) − F_b(x)</c> or <c>F_b(x − slack) − F_a(x)</c>, or 0. A shift of one sample against the other
    /// by at most <paramref name="slack"/> measures 0, however concentrated the samples are (the plain statistic is 1
    /// for two single values 0.5 apart); with 0 it is the plain two-sided statistic.
    /// </summary>
    public static double KolmogorovSmirnov(IReadOnlyList<double> a, IReadOnlyList<double> b, double slack)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Count == 0 || b.Count == 0)
        {
            throw new ArgumentException("the KS statistic needs two non-empty samples");
        }

        if (!(slack >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(slack), slack, "the slack is 0 or positive");
        }

        var x = a.Order().ToArray();
        var y = b.Order().ToArray();
        return Math.Max(0, Math.Max(OneSided(x, y, slack), OneSided(y, x, slack)));

        // F_p(·−slack) − F_q(·) is largest at the points where its first term steps up: x = p[i] + slack.
        static double OneSided(double[] p, double[] q, double slack)
        {
            var d = double.NegativeInfinity;
            for (var i = 0; i < p.Length; i++)
            {
                if (i + 1 < p.Length && p[i + 1] == p[i])
                {
                    continue;
                }

                d = Math.Max(d, ((double)(i + 1) / p.Length) - ((double)AtMost(q, p[i] + slack) / q.Length));
            }

            return d;
        }

        // How many of the sorted values are ≤ limit.
        static int AtMost(double[] sorted, double limit)
        {
            int low = 0, high = sorted.Length;
            while (low < high)
            {
                var middle = (low + high) >>> 1;
                if (sorted[middle] <= limit)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }

            return low;
        }
    }

    /// <summary>Root mean squared error of <paramref name="predicted"/> against <paramref name="expected"/> over <paramref name="rows"/>.</summary>
    public static double Rmse(IReadOnlyList<double> expected, IReadOnlyList<double> predicted, IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(rows);
        var sum = 0.0;
        foreach (var row in rows)
        {
            var error = expected[row] - predicted[row];
            sum += error * error;
        }

        return Math.Sqrt(sum / rows.Count);
    }

    /// <summary>
    /// Paired bootstrap of RMSE(<paramref name="candidate"/>) − RMSE(<paramref name="live"/>): each resample draws
    /// n rows with replacement and scores both models on the same rows, so what the two share (hard rows, easy
    /// rows) cancels and the interval measures only how they differ. Rows are drawn by <see cref="SplitMix64"/>
    /// from <paramref name="seed"/>, so a gate's interval is reproducible to the last digit (and by the Python
    /// reference in the tests). The interval is the percentile interval at <paramref name="confidence"/>.
    /// </summary>
    public static RmseDifference PairedRmseBootstrap(
        IReadOnlyList<double> expected, IReadOnlyList<double> candidate, IReadOnlyList<double> live, int resamples, ulong seed, double confidence)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(live);
        var n = expected.Count;
        if (n == 0 || candidate.Count != n || live.Count != n)
        {
            throw new ArgumentException($"expected {n}, candidate {candidate.Count} and live {live.Count} must be equally many, and not none");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 1);
        var squaredCandidate = new double[n];
        var squaredLive = new double[n];
        for (var i = 0; i < n; i++)
        {
            squaredCandidate[i] = (expected[i] - candidate[i]) * (expected[i] - candidate[i]);
            squaredLive[i] = (expected[i] - live[i]) * (expected[i] - live[i]);
        }

        var observed = Math.Sqrt(squaredCandidate.Average()) - Math.Sqrt(squaredLive.Average());
        var random = new SplitMix64(seed);
        var differences = new double[resamples];
        for (var r = 0; r < resamples; r++)
        {
            double sumCandidate = 0, sumLive = 0;
            for (var k = 0; k < n; k++)
            {
                var row = random.NextIndex(n);
                sumCandidate += squaredCandidate[row];
                sumLive += squaredLive[row];
            }

            differences[r] = Math.Sqrt(sumCandidate / n) - Math.Sqrt(sumLive / n);
        }

        Array.Sort(differences);
        var tail = (1 - confidence) / 2;
        return new RmseDifference(observed, Quantile(differences, tail), Quantile(differences, 1 - tail), confidence, resamples, seed);
    }
}

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014; the seeding generator of java.util.SplittableRandom): tiny, fast, and the
/// same on every runtime and in a few lines of Python, which <see cref="System.Random"/> does not promise.
/// </summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>0 ≤ result &lt; <paramref name="n"/>: the top 32 bits scaled by n (Lemire's multiply-shift).</summary>
    public int NextIndex(int n) => (int)(((Next() >> 32) * (ulong)n) >> 32);
}
