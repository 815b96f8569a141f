using StudentPerformance.Deployer.Readiness;

namespace Deployer.Tests.Readiness;

public sealed class ShadowRulesTests
{
    private static readonly ShadowGateOptions Defaults = new();

    [Fact]
    public void Judge_AnswersWithinSeedNoise_Passes()
    {
        // Arrange: 500 inputs, the candidate 0.5 points off on every other one (seeds differ by p99 ≈ 1.2).
        double?[] live = [.. Enumerable.Range(0, 500).Select(i => (double?)(40 + (i % 50)))];
        double?[] candidate = [.. live.Select((l, i) => l + (i % 2 == 0 ? 0.5 : 0))];

        // Act
        var report = ShadowRules.Judge(Defaults, candidate, live);

        // Assert
        Assert.Equal(ShadowReport.PassedResult, report.Result);
        Assert.Equal(500, report.Compared);
        Assert.Equal(0.5, report.AbsoluteDelta!.Max);
        Assert.Equal(0.25, report.AbsoluteDelta.P50, 12);
        Assert.Equal(0, report.ShareBeyondTolerance);
        Assert.Empty(report.Refusals);
    }

    [Fact]
    public void Judge_ARegionShifted_IsRefusedByShareAndP99NamingTheKeys()
    {
        // Arrange: a fifth of the inputs (a region) answered 12 points lower.
        double?[] live = [.. Enumerable.Range(0, 500).Select(i => (double?)(40 + (i % 50)))];
        double?[] candidate = [.. live.Select((l, i) => i % 5 == 0 ? l - 12 : l)];

        // Act
        var report = ShadowRules.Judge(Defaults, candidate, live);

        // Assert
        Assert.Equal(ShadowReport.RefusedResult, report.Result);
        Assert.Equal(0.2, report.ShareBeyondTolerance!.Value, 12);
        Assert.Equal(12, report.AbsoluteDelta!.P99);
        Assert.Collection(report.Refusals,
            r => Assert.Equal("20.0% of 500 recent inputs differ from live by more than 5 points (Deployer:ShadowGate:Tolerance) > 1.0% (Deployer:ShadowGate:MaxShareBeyondTolerance)", r),
            r => Assert.Equal("p99 |candidate − live| on recent inputs 12.00 > 3.00 (Deployer:ShadowGate:MaxP99Delta); max 12.00", r));
    }

    [Fact]
    public void Judge_WholeDistributionMoved_IsRefusedByKsWithTheStatistic()
    {
        // Arrange: every answer 2 points higher, within tolerance and p99, on answers spread over 0..9: the two
        // distributions are apart by 2/10 of their mass at most points, KS 0.2 exactly at 2 (limits 0.1 here).
        double?[] live = [.. Enumerable.Range(0, 100).Select(i => (double?)(i % 10))];
        double?[] candidate = [.. live.Select(l => l + 2)];

        var report = ShadowRules.Judge(new ShadowGateOptions { MaxKs = 0.1, KsSlack = 0 }, candidate, live);

        Assert.Equal(0.2, report.Ks!.Value, 12);
        Assert.Equal(["KS statistic between the candidate's and live's answers on recent inputs 0.200 > 0.100 (Deployer:ShadowGate:MaxKs), shifts up to 0 points not counted (Deployer:ShadowGate:KsSlack)"], report.Refusals);
    }

    [Fact]
    public void Judge_OneRepeatedInputShiftedWithinTheSlack_Passes()
    {
        // Arrange: every recent input the same (one client repeating one request), and the candidate answering it 0.55
        // points higher (a retrain's noise): the plain KS statistic of two single values apart is 1.
        double?[] live = [.. Enumerable.Repeat<double?>(61.2, 2000)];
        double?[] candidate = [.. live.Select(l => l + 0.55)];

        var report = ShadowRules.Judge(Defaults, candidate, live);

        Assert.Equal(ShadowReport.PassedResult, report.Result);
        Assert.Equal(0, report.Ks);
        Assert.Equal(1, GateStatistics.KolmogorovSmirnov([.. candidate.Select(c => c!.Value)], [.. live.Select(l => l!.Value)]));
    }

    [Fact]
    public void Judge_ConcentratedTrafficShiftedBeyondTheSlack_IsRefusedByKs()
    {
        // Arrange: three inputs repeated, each answered 2.5 points higher: within Tolerance and MaxP99Delta per input,
        // beyond the 2-point slack as a whole.
        double?[] live = [.. Enumerable.Range(0, 300).Select(i => (double?)(50 + (10 * (i % 3))))];
        double?[] candidate = [.. live.Select(l => l + 2.5)];

        var report = ShadowRules.Judge(Defaults, candidate, live);

        Assert.Equal(ShadowReport.RefusedResult, report.Result);
        Assert.Equal(1.0 / 3, report.Ks!.Value, 12);
        Assert.Single(report.Refusals, r => r.Contains("(Deployer:ShadowGate:MaxKs)", StringComparison.Ordinal));
    }

    [Fact]
    public void Judge_CandidateRejectsInputsLiveAccepts_IsRefusedNamingTheCount()
    {
        double?[] live = [.. Enumerable.Range(0, 300).Select(i => (double?)60)];
        double?[] candidate = [.. live.Select((l, i) => i < 7 ? null : l)];

        var report = ShadowRules.Judge(Defaults, candidate, live);

        Assert.Equal(ShadowReport.RefusedResult, report.Result);
        Assert.Equal(7, report.CandidateRejected);
        Assert.Equal(293, report.Compared);
        Assert.Equal(
            ["the candidate rejects 7 of 300 recent inputs that the live model accepts > 0 (Deployer:ShadowGate:MaxRejected)"],
            report.Refusals);
    }

    [Fact]
    public void Judge_RejectionsWithinMaxRejected_Pass()
    {
        double?[] live = [60, 61, 62, 63];
        double?[] candidate = [null, 61, 62, 63];

        var report = ShadowRules.Judge(new ShadowGateOptions { MaxRejected = 1 }, candidate, live);

        Assert.Equal(ShadowReport.PassedResult, report.Result);
    }

    [Fact]
    public void Judge_InputsTheLiveModelRejects_AreLeftOutWithAWarning()
    {
        double?[] live = [null, 61, 62, 63];
        double?[] candidate = [null, 61, 62, 63];

        var report = ShadowRules.Judge(Defaults, candidate, live);

        Assert.Equal(ShadowReport.PassedResult, report.Result);
        Assert.Equal((3, 1, 0), (report.Compared, report.LiveRejected, report.CandidateRejected));
        Assert.Contains("the live model rejected 1", Assert.Single(report.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_ShareExactlyAtTheLimit_Passes()
    {
        // 1 of 100 beyond 5 points: exactly MaxShareBeyondTolerance 0.01. A difference of exactly 5 is not beyond.
        double?[] live = [.. Enumerable.Range(0, 100).Select(_ => (double?)50)];
        double?[] candidate = [.. live.Select((l, i) => i == 0 ? l + 20 : i == 1 ? l + 5 : l)];

        var report = ShadowRules.Judge(new ShadowGateOptions { MaxP99Delta = 100, MaxKs = 1 }, candidate, live);

        Assert.Equal(0.01, report.ShareBeyondTolerance);
        Assert.Equal(ShadowReport.PassedResult, report.Result);
    }
}
