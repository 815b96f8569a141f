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
    public void Judge_CandidateWorseBeyondTheAllowanceOnEveryRow_IsRefusedWithTheInterval()
    {
        // Arrange: live is 1 point off on every row (RMSE 1); the candidate 2 points (RMSE 2): the difference is +1 on
        // every resample, so the interval is [+1, +1], above the allowed 1 × 0.05.
        var golden = GoldenSetReaderTests.SetOf(40);
        double[] live = [.. golden.Expected.Select(e => e + 1)];
        double[] candidate = [.. golden.Expected.Select(e => e - 2)];

        // Act
        var verdict = QualityRules.Judge(new QualityGateOptions(), golden, RegressionScores.Compute(golden.Expected, candidate), candidate, null,
            RegressionScores.Compute(golden.Expected, live), live);

        // Assert
        Assert.Equal((1.0, 1.0, 1.0), (verdict.RmseDifference!.Observed, verdict.RmseDifference.Lower, verdict.RmseDifference.Upper));
        Assert.Equal(0.05, verdict.AllowedRmseIncrease!.Value, 12);
        Assert.Equal(
            ["candidate RMSE 2.00 > live 1.00 + 0.05 at 0.95 confidence (Deployer:QualityGate:Confidence): the difference +1.00 has the interval [+1.00, +1.00], wholly above live × 0.05 (Deployer:QualityGate:MaxRelativeRmseIncrease)"],
            verdict.Refusals.Where(r => r.Contains("MaxRelativeRmseIncrease", StringComparison.Ordinal)));
    }

    [Fact]
    public void Judge_NoisyDifferenceWhoseIntervalReachesBelowTheAllowance_Passes()
    {
        // Arrange: the candidate is much worse on a single row and better elsewhere: the point difference is above
        // the allowance, but resampling the rows reverses it, so at 95 % it is not shown to be worse.
        var golden = GoldenSetReaderTests.SetOf(40);
        double[] live = [.. golden.Expected.Select((e, i) => e + (i % 2 == 0 ? 2 : -2))];
        double[] candidate = [.. golden.Expected.Select((e, i) => i == 0 ? e + 9 : e + (i % 2 == 0 ? 1.9 : -1.9))];
        var candidateScores = RegressionScores.Compute(golden.Expected, candidate);
        var liveScores = RegressionScores.Compute(golden.Expected, live);
        Assert.True(candidateScores.Rmse > liveScores.Rmse * 1.05, "the point figures alone would refuse");

        // Act
        var verdict = QualityRules.Judge(new QualityGateOptions(), golden, candidateScores, candidate, null, liveScores, live);

        // Assert
        Assert.True(verdict.RmseDifference!.Lower <= verdict.AllowedRmseIncrease, verdict.RmseDifference.ToString());
        Assert.DoesNotContain(verdict.Refusals, r => r.Contains("MaxRelativeRmseIncrease", StringComparison.Ordinal));
    }

    [Fact]
    public void Slices_ValuesWithEnoughRows_AreJudgedAndARegressedOneRefusesNamingIt()
    {
        // Arrange: 40 rows with lunch standard, 35 free/reduced, 10 group A (too few for a slice of its own).
        var golden = MixedSet();
        double[] live = [.. golden.Expected.Select(e => e + 2)];
        double[] candidate = [.. golden.Rows.Select((r, i) => r.Student.Lunch == "free/reduced" ? golden.Expected[i] + 3 : golden.Expected[i] + 1.5)];

        // Act
        var verdict = QualityRules.Judge(new QualityGateOptions { MaxRelativeRmseIncrease = 1 }, golden, RegressionScores.Compute(golden.Expected, candidate), candidate, null,
            RegressionScores.Compute(golden.Expected, live), live);

        // Assert: free/reduced went from 2 to 3 (+50 % > 15 %); standard improved; group A has 10 rows, no slice.
        var freeLunch = Assert.Single(verdict.Slices, s => s is { Feature: "lunch", Value: "free/reduced" });
        Assert.Equal((35, 3.0, 2.0, true), (freeLunch.Rows, freeLunch.CandidateRmse, freeLunch.LiveRmse, freeLunch.Regressed));
        Assert.False(Assert.Single(verdict.Slices, s => s is { Feature: "lunch", Value: "standard" }).Regressed);
        Assert.DoesNotContain(verdict.Slices, s => s.Value == "group A");
        // Every slice that holds the free/reduced rows shows the regression (male, group C, high school and completed
        // hold them all, diluted by the 10 group A rows): each is named, in schema order.
        Assert.Equal(
            ["gender=male (45 rows)", "race_ethnicity=group C (35 rows)", "parental_level_of_education=high school (45 rows)", "lunch=free/reduced (35 rows)", "test_preparation_course=completed (45 rows)"],
            verdict.Refusals.Select(r => r["slice ".Length..r.IndexOf(':', StringComparison.Ordinal)]));
        Assert.Equal("slice lunch=free/reduced (35 rows): candidate RMSE 3.00 > live 2.00 × 1.15 (Deployer:QualityGate:MaxSliceRmseIncrease)", verdict.Refusals[3]);
    }

    [Fact]
    public void Slices_IncreaseExactlyAtTheLimit_Passes()
    {
        var golden = MixedSet();
        double[] live = [.. golden.Expected.Select(e => e + 2)];
        double[] candidate = [.. golden.Expected.Select(e => e + 2.5)];

        var slices = QualityRules.Slices(new QualityGateOptions { MaxSliceRmseIncrease = 0.25, MinSliceRows = 35 }, golden, candidate, live);

        Assert.NotEmpty(slices);
        Assert.All(slices, s => Assert.False(s.Regressed, s.ToString()));
        Assert.All(slices, s => Assert.True(s.Rows >= 35));
    }

    private static GoldenSet MixedSet()
    {
        var text = new System.Text.StringBuilder("gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,math_score,reading_score,writing_score\n");
        for (var i = 0; i < 40; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"female,group B,some college,standard,none,{40 + i},{45 + i},{50 + i}\n");
        }

        for (var i = 0; i < 35; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"male,group C,high school,free/reduced,completed,{30 + i},{35 + i},{30 + i}\n");
        }

        for (var i = 0; i < 10; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"male,group A,high school,standard,completed,{50 + i},{55 + i},{50 + i}\n");
        }

        return new GoldenSet("mixed", "none", GoldenSetReader.Parse(new StringReader(text.ToString()), "mixed"));
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
