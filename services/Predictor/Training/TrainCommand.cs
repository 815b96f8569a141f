using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Training;

/// <summary>
/// The <c>train</c> command:
/// <c>Predictor train --data F.csv --out model.zip [--test-rows R.txt] [--seed N] [--min-r2 0.6] [--l2 X] [--skip-bad-rows]</c>.
/// Exit codes: 0 saved; 1 below the quality floor (nothing saved); 2 bad arguments or bad data.
/// </summary>
public static class TrainCommand
{
    public const string Usage =
        "usage: Predictor train --data F.csv --out model.zip [--test-rows R.txt] [--seed N] [--min-r2 0.6] [--l2 X] [--skip-bad-rows]";

    private const double HoldoutFraction = 0.2;

    public static Task<int> RunAsync(string[] args) => RunAsync(args, TimeProvider.System, Console.Out, Console.Error);

    /// <summary>Runs the trainer; returns the process exit code. The last line written to <paramref name="stdout"/> is one JSON object.</summary>
    public static Task<int> RunAsync(string[] args, TimeProvider time, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        if (!TryParse(args, out var options, out var problem))
        {
            stderr.WriteLine($"train: {problem}");
            stderr.WriteLine(Usage);
            return Task.FromResult(2);
        }

        try
        {
            return Task.FromResult(Run(options, time, stdout, stderr));
        }
        catch (Exception e) when (e is CsvFormatException or FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"train: {e.Message}");
            return Task.FromResult(2);
        }
    }

    private static int Run(TrainOptions options, TimeProvider time, TextWriter stdout, TextWriter stderr)
    {
        var data = StudentCsv.Read(options.Data);
        stdout.WriteLine(Invariant($"read {data.DataRows} data rows from {options.Data} ({data.HeaderStyle} header), {data.Errors.Count} bad"));
        if (data.Errors.Count > 0)
        {
            foreach (var error in data.Errors)
            {
                stderr.WriteLine($"bad row: {error}");
            }

            if (!options.SkipBadRows)
            {
                stderr.WriteLine(Invariant($"train: {data.Errors.Count} bad row(s) listed above; fix them or pass --skip-bad-rows to train without them"));
                return 2;
            }

            stderr.WriteLine(Invariant($"train: skipping {data.Errors.Count} bad row(s) listed above (--skip-bad-rows)"));
        }

        HashSet<int> testRows;
        if (options.TestRows is { } testRowsPath)
        {
            testRows = DataSplit.ReadRowNumbers(testRowsPath);
            var outOfRange = testRows.Where(r => r >= data.DataRows).Order().ToArray();
            if (outOfRange.Length > 0)
            {
                stderr.WriteLine(Invariant($"train: {testRowsPath} names rows past the last data row ({data.DataRows - 1}): {string.Join(", ", outOfRange.Take(10))}"));
                return 2;
            }
        }
        else
        {
            testRows = DataSplit.RandomHoldout(data.DataRows, HoldoutFraction, options.Settings.Seed);
        }

        var train = data.Rows.Where(r => !testRows.Contains(r.Row)).ToArray();
        var test = data.Rows.Where(r => testRows.Contains(r.Row)).ToArray();
        if (test.Length < 2 || train.Length < options.Settings.Folds * 2)
        {
            stderr.WriteLine(Invariant($"train: too few rows ({train.Length} to train, {test.Length} to test)"));
            return 2;
        }

        var holdoutSource = options.TestRows is null
            ? Invariant($"seeded 20% holdout, seed {options.Settings.Seed}")
            : $"rows listed in {options.TestRows}";
        stdout.WriteLine(Invariant($"train {train.Length} rows, test {test.Length} rows ({holdoutSource})"));

        var result = ModelTrainer.Train(train, test, options.Settings);
        var h = result.Holdout;
        var cv = result.CrossValidation;
        stdout.WriteLine(Invariant($"holdout: R2 {h.R2:F4}  RMSE {h.Rmse:F3}  MAE {h.Mae:F3}"));
        stdout.WriteLine(Invariant($"{cv.Folds}-fold CV on the training rows: R2 {cv.R2Mean:F4} ± {cv.R2Sd:F4}  RMSE {cv.RmseMean:F3} ± {cv.RmseSd:F3}"));

        string? version = null;
        if (h.R2 < options.MinR2)
        {
            stderr.WriteLine(Invariant($"train: holdout R2 {h.R2:F4} is below the floor {options.MinR2:F4} (--min-r2); model NOT saved"));
        }
        else
        {
            var metadata = new ModelMetadata(
                TrainedAt: time.GetUtcNow(),
                DataName: Path.GetFileName(options.Data),
                DataSha256: Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(options.Data))),
                RowsTrain: train.Length,
                RowsTest: test.Length,
                Algorithm: options.Settings.Algorithm,
                Holdout: h,
                CrossValidation: cv,
                CategoricalFields: result.CategoricalFields,
                NumericFields: [.. StudentColumns.Numeric.Select(n => new NumericField(n, StudentColumns.ScoreMin, StudentColumns.ScoreMax))]);

            // Save folds the model into the linear scorer serving uses and proves it against ML.NET on every row.
            try
            {
                version = ModelFile.Save(
                    options.Out, new MLContext(options.Settings.Seed), result.Model, result.InputSchema, metadata, data.Rows.Select(r => r.Features));
                stdout.WriteLine(Invariant($"saved {options.Out} (model version {version}; its linear fold matches ML.NET within {LinearFold.Tolerance:G} on all {data.Rows.Count} rows)"));
            }
            catch (NotSupportedException e)
            {
                stderr.WriteLine($"train: the model cannot be folded into the served linear scorer ({e.Message}); model NOT saved");
            }
        }

        stdout.WriteLine(JsonSerializer.Serialize(
            new TrainSummary(h.R2, h.Rmse, h.Mae, cv.R2Mean, cv.R2Sd, cv.RmseMean, cv.RmseSd, train.Length, test.Length, data.Errors.Count, version, version is not null),
            SummaryJson));
        return version is null ? 1 : 0;
    }

    private static readonly JsonSerializerOptions SummaryJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private sealed record TrainSummary(
        double R2,
        double Rmse,
        double Mae,
        double CvR2Mean,
        double CvR2Sd,
        double CvRmseMean,
        double CvRmseSd,
        int RowsTrain,
        int RowsTest,
        int RowsBad,
        string? ModelVersion,
        bool Saved);

    private sealed record TrainOptions(string Data, string Out, string? TestRows, double MinR2, bool SkipBadRows, TrainerSettings Settings);

    private static bool TryParse(string[] args, out TrainOptions options, out string problem)
    {
        options = null!;
        string? data = null, output = null, testRows = null;
        double minR2 = 0.6;
        var skipBad = false;
        var settings = new TrainerSettings();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--skip-bad-rows")
            {
                skipBad = true;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                problem = $"{name} needs a value";
                return false;
            }

            var value = args[++i];
            switch (name)
            {
                case "--data": data = value; break;
                case "--out": output = value; break;
                case "--test-rows": testRows = value; break;
                case "--seed" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed):
                    settings = settings with { Seed = seed };
                    break;
                case "--min-r2" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var floor) && floor <= 1:
                    minR2 = floor;
                    break;
                case "--l2" when float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var l2) && l2 >= 0:
                    settings = settings with { L2 = l2 };
                    break;
                case "--seed" or "--min-r2" or "--l2":
                    problem = $"{name} '{value}' is not a valid value";
                    return false;
                default:
                    problem = $"unknown option '{name}'";
                    return false;
            }
        }

        if (data is null || output is null)
        {
            problem = "--data and --out are required";
            return false;
        }

        options = new TrainOptions(data, output, testRows, minR2, skipBad, settings);
        problem = "";
        return true;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
