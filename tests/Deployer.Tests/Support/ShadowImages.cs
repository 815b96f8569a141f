namespace Deployer.Tests.Support;

/// <summary>
/// Two real predictor images for the shadow step, built by Dockerfile.predictor from altered training data (as
/// <see cref="WrongLabelImage"/>): <see cref="ShiftedGroupA"/> learnt group A's math scores 6 points higher, a region
/// the golden set barely covers (20 of 200 rows, under MinSliceRows); <see cref="KnowsGroupF"/> learnt half of group
/// E as a new value "group F", so it accepts inputs that the standard models reject.
/// </summary>
public sealed class ShadowImages : IAsyncLifetime
{
    private static readonly string Run = LocalRegistry.RandomSuffix();

    public static string ShiftedGroupA => $"{PredictorImages.Repository}:shifted-group-a-{Run}";

    public static string KnowsGroupF => $"{PredictorImages.Repository}:knows-group-f-{Run}";

    public async Task InitializeAsync()
    {
        await WrongLabelImage.BuildWithTrainingDataAsync(ShiftedGroupA, rows => rows.Select(r =>
            r.Categoricals.Split(',')[1] == "group A" ? r with { MathScore = Math.Min(100, r.MathScore + 6) } : r));
        var groupE = 0;
        await WrongLabelImage.BuildWithTrainingDataAsync(KnowsGroupF, rows => rows.Select(r =>
            r.Categoricals.Split(',')[1] == "group E" && groupE++ % 2 == 0
                ? r with { Categoricals = r.Categoricals.Replace("group E", "group F", StringComparison.Ordinal) }
                : r));
    }

    public async Task DisposeAsync()
    {
        await Cli.TryRunAsync(["rmi", ShiftedGroupA]);
        await Cli.TryRunAsync(["rmi", KnowsGroupF]);
    }
}
