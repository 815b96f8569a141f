using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML;
using StudentPerformance.Features;
using StudentPerformance.Predictor.Hosting;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Training;

/// <summary>
/// The <c>train</c> command:
/// <c>Predictor.Training train --data F.csv --out model.zip [--test-rows R.txt] [--seed N] [--min-r2 0.6] [--l2 X] [--skip-bad-rows]</c>.
/// Exit codes: 0 saved; 1 below the quality floor (nothing saved); 2 bad arguments or bad data.
/// </summary>
public static class TrainCommand
{
    private const double HoldoutFraction = 0.2;

    public static Task<int> RunAsync(string[] args) => RunAsync(args, TimeProvider.System, Console.Out, Console.Error);

    /// <summary>Runs the trainer; returns the process exit code. The last line written to <paramref name="stdout"/> is one JSON object.</summary>
    public static Task<int> RunAsync(string[] args, TimeProvider time, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        return CommandLineRunner.InvokeAsync(Create(time), args, stdout, stderr);
    }

    /// <summary>The command: options, validation and the action.</summary>
    public static Command Create(TimeProvider time)
    {
        var defaults = new TrainerSettings();
        var data = new Option<string>("--data")
        {
            Description = "The training CSV (the dataset's header, snake_case or Kaggle's spelling).",
            HelpName = "file.csv",
            Required = true,
        };
        var output = new Option<string>("--out")
        {
            Description = "Where to write the model file (written atomically; nothing is written below the floor).",
            HelpName = "model.zip",
            Required = true,
        };
        var testRows = new Option<string?>("--test-rows")
        {
            Description = "A file of 0-based data-row numbers to hold out instead of a seeded 20% holdout.",
            HelpName = "rows.txt",
        };
        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the holdout, the CV folds and SDCA's order.",
            DefaultValueFactory = _ => defaults.Seed,
            CustomParser = CommandLineRunner.Number<int>(_ => true, "an integer"),
        };
        var minR2 = new Option<double>("--min-r2")
        {
            Description = "The quality floor: below this holdout R², the model is not saved and the exit code is 1.",
            DefaultValueFactory = _ => 0.6,
            CustomParser = CommandLineRunner.Number<double>(v => v <= 1, "a number at most 1"),
        };
        var l2 = new Option<float>("--l2")
        {
            Description = "SDCA's L2 regularisation strength.",
            DefaultValueFactory = _ => defaults.L2,
            CustomParser = CommandLineRunner.Number<float>(v => v >= 0, "a number of 0 or more"),
        };
        var skipBadRows = new Option<bool>("--skip-bad-rows")
        {
            Description = "Train without the rows that do not parse instead of failing.",
        };

        var command = new Command("train", "Trains the model with ML.NET, proves its linear fold and writes the model file.")
        {
            data, output, testRows, seed, minR2, l2, skipBadRows,
        };
        command.SetAction(parse =>
        {
            var options = new TrainOptions(
                parse.GetRequiredValue(data),
                parse.GetRequiredValue(output),
                parse.GetValue(testRows),
                parse.GetValue(minR2),
                parse.GetValue(skipBadRows),
                defaults with { Seed = parse.GetValue(seed), L2 = parse.GetValue(l2) });
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            try
            {
                return Run(options, time, stdout, stderr);
            }
            catch (Exception e) when (e is CsvFormatException or FormatException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"train: {e.Message}");
                return CommandLineRunner.UsageError;
            }
        });
        return command;
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
                version = ModelSaver.Save(
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

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
