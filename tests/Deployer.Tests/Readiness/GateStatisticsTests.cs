using StudentPerformance.Deployer.Readiness;

namespace Deployer.Tests.Readiness;

/// <summary>
/// The gate's statistics against independent references. numpy and scipy cannot be installed on the build host, so
/// the reference values come from gate_statistics_reference.py beside this file: a plain-Python re-implementation
/// of numpy.percentile's default method, of scipy.stats.ks_2samp's statistic as scipy computes it (searchsorted over
/// the pooled sample, not the C# merge walk), and of the paired bootstrap. Each value is quoted from its output.
/// </summary>
public sealed class GateStatisticsTests
{
    [Fact]
    public void SplitMix64_SeedZero_GivesThePublishedFirstOutputs()
    {
        // The reference implementation's test vector (Vigna, prng.di.unimi.it/splitmix64.c), also the Python's output.
        var random = new SplitMix64(0);

        Assert.Equal(0xe220a8397b1dcdafUL, random.Next());
        Assert.Equal(0x6e789e6aa1b965f4UL, random.Next());
        Assert.Equal(0x06c45d188009454fUL, random.Next());
    }

    [Theory]
    [InlineData(0.50, 50.5)]
    [InlineData(0.95, 95.05)]
    [InlineData(0.99, 99.01)]
    [InlineData(0.0, 1)]
    [InlineData(1.0, 100)]
    public void Quantile_OneToHundred_MatchesNumpyLinear(double p, double expected)
    {
        // numpy.percentile(range(1, 101), 100 * p): 50.5, 95.05, 99.01 (reference script).
        double[] values = [.. Enumerable.Range(1, 100).Select(i => (double)i)];

        Assert.Equal(expected, GateStatistics.Quantile(values, p), 12);
    }

    [Fact]
    public void Quantile_UnevenValues_MatchesNumpyLinear()
    {
        // numpy's documentation: np.percentile([[10, 7, 4], [3, 2, 1]], 50) is 3.5. The others: reference script.
        Assert.Equal(3.5, GateStatistics.Quantile([1, 2, 3, 4, 7, 10], 0.5), 12);
        Assert.Equal(1.475, GateStatistics.Quantile([1.25, 2, 3.5, 9], 0.1), 12);
        Assert.Equal(7.350000000000001, GateStatistics.Quantile([1.25, 2, 3.5, 9], 0.9), 12);
    }

    [Fact]
    public void Quantile_NoValuesOrPOutOfRange_Throws()
    {
        Assert.Throws<ArgumentException>(() => GateStatistics.Quantile([], 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => GateStatistics.Quantile([1], 1.5));
    }

    [Fact]
    public void KolmogorovSmirnov_SamplesWithTies_MatchesScipyStatistic()
    {
        // ks_2samp([1, 2, 2, 3.5, 4, 7, 8.5], [2, 2.5, 3.5, 3.5, 6, 9]).statistic = 0.26190476190476186 (reference script).
        var d = GateStatistics.KolmogorovSmirnov([1.0, 2.0, 2.0, 3.5, 4.0, 7.0, 8.5], [2.0, 2.5, 3.5, 3.5, 6.0, 9.0]);

        Assert.Equal(0.26190476190476186, d, 12);
    }

    [Fact]
    public void KolmogorovSmirnov_LargerSamplesOfDifferentSizes_MatchesScipyStatistic()
    {
        // c = [i % 17 for i in range(100)], d = [(7 i) % 19 + 0.5 for i in range(80)]: 0.16249999999999998.
        double[] c = [.. Enumerable.Range(0, 100).Select(i => (double)(i % 17))];
        double[] d = [.. Enumerable.Range(0, 80).Select(i => ((i * 7) % 19) + 0.5)];

        Assert.Equal(0.16249999999999998, GateStatistics.KolmogorovSmirnov(c, d), 12);
    }

    [Fact]
    public void KolmogorovSmirnov_WithSlack_IgnoresShiftsUpToItAndMatchesThePlainStatisticAtZero()
    {
        double[] a = [1.0, 2.0, 2.0, 3.5, 4.0, 7.0, 8.5];
        double[] b = [2.0, 2.5, 3.5, 3.5, 6.0, 9.0];
        Assert.Equal(GateStatistics.KolmogorovSmirnov(a, b), GateStatistics.KolmogorovSmirnov(a, b, 0), 12);
        Assert.Equal(GateStatistics.KolmogorovSmirnov(b, a), GateStatistics.KolmogorovSmirnov(a, b, 0), 12);

        double[] spread = [.. Enumerable.Range(0, 100).Select(i => (double)(i % 10))];
        double[] shifted = [.. spread.Select(v => v + 2)];
        Assert.Equal(0.2, GateStatistics.KolmogorovSmirnov(spread, shifted, 0), 12);
        Assert.Equal(0.1, GateStatistics.KolmogorovSmirnov(spread, shifted, 1), 12);
        Assert.Equal(0, GateStatistics.KolmogorovSmirnov(spread, shifted, 2));
        Assert.Equal(0, GateStatistics.KolmogorovSmirnov(shifted, spread, 2));
        Assert.Equal(0, GateStatistics.KolmogorovSmirnov([5.0], [5.4], 0.5));
        Assert.Equal(1, GateStatistics.KolmogorovSmirnov([5.0], [5.6], 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => GateStatistics.KolmogorovSmirnov(a, b, -1));
    }

    [Fact]
    public void KolmogorovSmirnov_IdenticalAndDisjoint_AreZeroAndOne()
    {
        Assert.Equal(0, GateStatistics.KolmogorovSmirnov([3, 1, 2], [1, 2, 3]));
        Assert.Equal(1, GateStatistics.KolmogorovSmirnov([1, 2, 3], [4, 5, 6]));
    }

    [Fact]
    public void PairedRmseBootstrap_SixtyRows_MatchesTheReference()
    {
        // Arrange: the reference script's rows. Act: 2,000 resamples, seed 19, 95 %.
        var (expected, candidate, live) = ReferenceRows();

        var interval = GateStatistics.PairedRmseBootstrap(expected, candidate, live, 2000, 19, 0.95);

        // Assert: observed 1.2914445216966488, interval [0.7418690467760991, 1.8037437695010068].
        Assert.Equal(1.2914445216966488, interval.Observed, 10);
        Assert.Equal(0.7418690467760991, interval.Lower, 10);
        Assert.Equal(1.8037437695010068, interval.Upper, 10);
    }

    [Fact]
    public void PairedRmseBootstrap_OtherSeedAndConfidence_MatchesTheReference()
    {
        var (expected, candidate, live) = ReferenceRows();

        var interval = GateStatistics.PairedRmseBootstrap(expected, candidate, live, 500, 7, 0.9);

        // 500 resamples, seed 7, 90 %: [0.7938017213917993, 1.7532117379901373].
        Assert.Equal(0.7938017213917993, interval.Lower, 10);
        Assert.Equal(1.7532117379901373, interval.Upper, 10);
    }

    [Fact]
    public void PairedRmseBootstrap_SameAnswers_IsExactlyZero()
    {
        var (expected, _, live) = ReferenceRows();

        var interval = GateStatistics.PairedRmseBootstrap(expected, live, live, 200, 19, 0.95);

        Assert.Equal((0.0, 0.0, 0.0), (interval.Observed, interval.Lower, interval.Upper));
    }

    private static (double[] Expected, double[] Candidate, double[] Live) ReferenceRows()
    {
        double[] expected = [.. Enumerable.Range(0, 60).Select(i => 50.0 + ((i * 37) % 41))];
        double[] live = [.. expected.Select((e, i) => e + ((((i * 13) % 11) - 5) * 0.9))];
        double[] candidate = [.. expected.Select((e, i) => e + ((((i * 7) % 13) - 6) * 1.1))];
        return (expected, candidate, live);
    }
}
