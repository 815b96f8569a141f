using System.CommandLine;
using System.Globalization;
using StudentPerformance.Predictor.Hosting;

namespace StudentPerformance.Predictor.Training;

/// <summary>
/// The <c>generate-sample</c> command: <c>Predictor.Training generate-sample --out F [--rows N] [--seed S]</c>.
/// <c>data/sample/students.csv</c> is this command's output with the defaults (1000 rows, seed 42).
/// </summary>
public static class GenerateSampleCommand
{
    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error);

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        return CommandLineRunner.InvokeAsync(Create(), args, stdout, stderr);
    }

    /// <summary>The command: options, validation and the action.</summary>
    public static Command Create()
    {
        var output = new Option<string>("--out")
        {
            Description = "Where to write the CSV.",
            HelpName = "file.csv",
            Required = true,
        };
        var rows = new Option<int>("--rows")
        {
            Description = "How many data rows to write.",
            DefaultValueFactory = _ => SampleGenerator.DefaultRows,
            CustomParser = CommandLineRunner.Number<int>(v => v > 0, "an integer of 1 or more"),
        };
        var seed = new Option<int>("--seed")
        {
            Description = "The generator's seed.",
            DefaultValueFactory = _ => SampleGenerator.DefaultSeed,
            CustomParser = CommandLineRunner.Number<int>(_ => true, "an integer"),
        };

        var command = new Command("generate-sample", "Writes the deterministic sample dataset (realistic, generated, not the reference data).")
        {
            output, rows, seed,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetRequiredValue(output);
            var count = parse.GetValue(rows);
            var seedValue = parse.GetValue(seed);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            await File.WriteAllTextAsync(path, SampleGenerator.ToCsv(SampleGenerator.Generate(count, seedValue)), cancellationToken)
                .ConfigureAwait(false);
            await parse.InvocationConfiguration.Output
                .WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"wrote {count} rows (seed {seedValue}) to {path}"))
                .ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
