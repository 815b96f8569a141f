using System.Globalization;

namespace StudentPerformance.Predictor.Training;

/// <summary>
/// The <c>generate-sample</c> command: <c>Predictor generate-sample --out F [--rows N] [--seed S]</c>.
/// <c>data/sample/students.csv</c> is this command's output with the defaults (1000 rows, seed 42).
/// </summary>
public static class GenerateSampleCommand
{
    public const string Usage = "usage: Predictor generate-sample --out F.csv [--rows 1000] [--seed 42]";

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        string? output = null;
        var rows = SampleGenerator.DefaultRows;
        var seed = SampleGenerator.DefaultSeed;
        for (var i = 0; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            var ok = (args[i], value) switch
            {
                ("--out", { } path) => (output = path) is not null,
                ("--rows", { } n) => int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out rows) && rows > 0,
                ("--seed", { } s) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out seed),
                _ => false,
            };
            if (!ok)
            {
                await stderr.WriteLineAsync($"generate-sample: bad option '{args[i]}' {value}".TrimEnd());
                await stderr.WriteLineAsync(Usage);
                return 2;
            }
        }

        if (output is null)
        {
            await stderr.WriteLineAsync("generate-sample: --out is required");
            await stderr.WriteLineAsync(Usage);
            return 2;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(output))!;
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(output, SampleGenerator.ToCsv(SampleGenerator.Generate(rows, seed)));
        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"wrote {rows} rows (seed {seed}) to {output}"));
        return 0;
    }
}
