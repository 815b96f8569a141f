using StudentPerformance.Deployer.Readiness;

namespace Deployer.Tests.Readiness;

public class QualityRulesTests
{
    private static readonly GoldenSet Golden = GoldenSetReaderTests.SetOf(4);

    [Fact]
    public void Compute_KnownValues_MatchHandComputedFigures()
    {
        // Errors 0, 0, 0, −1: MSE 1/4; labels' mean 2.5, SStot 2.25 + 0.25 + 0.25 + 2.25 = 5, SSres 1.
        var scores = RegressionScores.Compute([1, 2, 3, 4], [1, 2, 3, 5]);

        Assert.Equal(0.5, scores.Rmse, 12);
        Assert.Equal(0.25, scores.Mae, 12);
        Assert.Equal(0.8, scores.R2, 12);
    }

    [Fact]
    public void Compute_PredictingTheMean_HasR2Zero()
    {
        var scores = RegressionScores.Compute([60, 70, 80], [70, 70, 70]);

        Assert.Equal(Math.Sqrt(200.0 / 3), scores.Rmse, 12);
        Assert.Equal(20.0 / 3, scores.Mae, 12);
        Assert.Equal(0, scores.R2, 12);
    }

    [Fact]
    public void Compute_WrongLengths_Throws() =>
        Assert.Throws<ArgumentException>(() => RegressionScores.Compute([1, 2], [1]));

    [Fact]
    public void Judge_RmseAtTheCeiling_PassesAndJustAboveIsRefusedNamingTheKey()
    {
        var options = new QualityGateOptions { MaxRmse = 7.0 };

        var at = Judge(options, new RegressionScores(7.0, 5, 0.9));
        var above = Judge(options, new RegressionScores(Math.BitIncrement(7.0), 5, 0.9));

        Assert.True(at.Passed);
        Assert.Equal(["candidate RMSE 7.00 > 7.00 (Deployer:QualityGate:MaxRmse)"], above.Refusals);
    }

    [Fact]
    public void Judge_R2AtTheFloor_PassesAndJustBelowIsRefusedNamingTheKey()
    {
        var options = new QualityGateOptions { MinR2 = 0.75 };

        var at = Judge(options, new RegressionScores(5, 4, 0.75));
        var below = Judge(options, new RegressionScores(5, 4, Math.BitDecrement(0.75)));

        Assert.True(at.Passed);
        Assert.Equal(["candidate R² 0.750 < 0.75 (Deployer:QualityGate:MinR2)"], below.Refusals);
    }

    [Fact]
    public void Judge_NaNFigures_AreRefused()
    {
        var verdict = Judge(new QualityGateOptions(), new RegressionScores(double.NaN, double.NaN, double.NaN));

        Assert.Equal(2, verdict.Refusals.Count);
    }

    [Fact]
    public void Judge_RmseAtLiveTimesAllowance_PassesAndJustAboveIsRefusedWithBothValues()
    {
        var options = new QualityGateOptions { MaxRelativeRmseIncrease = 0.05 };
        var live = new RegressionScores(5.31, 4, 0.88);
        var limit = 5.31 * (1 + 0.05);

        var at = Judge(options, new RegressionScores(limit, 4, 0.88), live);
        var above = Judge(options, new RegressionScores(Math.BitIncrement(limit), 4, 0.88), live);

        Assert.True(at.Passed);
        Assert.Equal(["candidate RMSE 5.58 > live 5.31 × 1.05 (Deployer:QualityGate:MaxRelativeRmseIncrease)"], above.Refusals);
    }

    [Fact]
    public void Judge_NoLiveModel_AppliesTheAbsoluteLimitsOnly()
    {
        // Far worse than any live model would allow, but within the absolute limits: a first deployment passes.
        var verdict = Judge(new QualityGateOptions { MaxAbsoluteDelta = 0.001 }, new RegressionScores(6.9, 5, 0.76), live: null);

        Assert.True(verdict.Passed);
    }

    [Fact]
    public void Judge_RowDeltaAtTheLimit_PassesAndJustAboveIsRefusedNamingTheLine()
    {
        var options = new QualityGateOptions { MaxAbsoluteDelta = 2 };
        var live = new RegressionScores(5, 4, 0.9);
        double[] livePredictions = [50, 60, 70, 80];

        var at = Judge(options, live, live, [52, 58, 70, 80], livePredictions);
        var above = Judge(options, live, live, [50, 60, Math.BitIncrement(72.0), 80], livePredictions);

        Assert.True(at.Passed);
        var refusal = Assert.Single(above.Refusals);
        Assert.Equal("candidate 72.00 differs from live 70.00 by 2.00 > 2.00 on golden line 4 (Deployer:QualityGate:MaxAbsoluteDelta)", refusal);
    }

    [Fact]
    public void Judge_RowDeltaOff_IgnoresLargeDifferences()
    {
        var live = new RegressionScores(5, 4, 0.9);

        var verdict = Judge(new QualityGateOptions(), live, live, [0, 0, 0, 0], [100, 100, 100, 100]);

        Assert.True(verdict.Passed);
    }

    [Fact]
    public void Judge_ClaimMoreThanTwiceApart_WarnsWithoutRefusing()
    {
        var options = new QualityGateOptions();

        var twice = QualityRules.Judge(options, Golden, new RegressionScores(5.0, 4, 0.9), [1, 2, 3, 4], claimedHoldoutRmse: 2.5, null, null);
        var further = QualityRules.Judge(options, Golden, new RegressionScores(5.0, 4, 0.9), [1, 2, 3, 4], claimedHoldoutRmse: Math.BitDecrement(2.5), null, null);
        var absent = QualityRules.Judge(options, Golden, new RegressionScores(5.0, 4, 0.9), [1, 2, 3, 4], claimedHoldoutRmse: null, null, null);

        Assert.Empty(twice.Warnings);
        Assert.True(further.Passed);
        Assert.Equal(["candidate claims holdout RMSE 2.50 but measures 5.00 on the golden set, more than 2× apart: its training pipeline may be broken"], further.Warnings);
        Assert.Empty(absent.Warnings);
    }

    private static QualityVerdict Judge(QualityGateOptions options, RegressionScores candidate, RegressionScores? live = null) =>
        Judge(options, candidate, live, [1, 2, 3, 4], live is null ? null : [1, 2, 3, 4]);

    private static QualityVerdict Judge(QualityGateOptions options, RegressionScores candidate, RegressionScores? live, double[] candidatePredictions, double[]? livePredictions) =>
        QualityRules.Judge(options, Golden, candidate, candidatePredictions, claimedHoldoutRmse: null, live, livePredictions);
}
