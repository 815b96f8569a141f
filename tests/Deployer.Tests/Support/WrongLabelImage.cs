using System.Globalization;

namespace Deployer.Tests.Support;

/// <summary>
/// A real predictor image whose model learnt the wrong labels: built by Dockerfile.predictor from a copy of the
/// tree in which data/sample/students.csv has math_score := 100 − reading_score. Its trainer then measures an
/// excellent holdout on its own corrupted rows, and it serves, answers the golden Predict request in range and
/// claims that holdout in GetModelInfo, exactly the image only a labelled golden set can catch.
/// </summary>
public sealed class WrongLabelImage : IAsyncLifetime
{
    public static string Tag { get; } = $"{PredictorImages.Repository}:wrong-labels-{LocalRegistry.RandomSuffix()}";

    public async Task InitializeAsync() =>
        await BuildWithTrainingDataAsync(Tag, rows => rows.Select(r => r with { MathScore = 100 - r.ReadingScore }));

    public async Task DisposeAsync() => await Cli.TryRunAsync(["rmi", Tag]);

    /// <summary>
    /// The one place these tests train a model: the image build's own `train` step, on altered training data. When
    /// training moves to another project, the Dockerfile moves with it and this keeps working; repoint it here if not.
    /// </summary>
    internal static async Task BuildWithTrainingDataAsync(string tag, Func<IEnumerable<TrainingRow>, IEnumerable<TrainingRow>> alter)
    {
        var root = PredictorImages.RepositoryRoot;
        var tree = Directory.CreateTempSubdirectory("sp-e2e-tree-").FullName;
        try
        {
            CopyBuildInputs(root, tree);
            var sample = Path.Combine(tree, "data", "sample", "students.csv");
            var lines = await File.ReadAllLinesAsync(sample);
            var header = lines[0];
            Assert.Equal("gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,math_score,reading_score,writing_score", header);
            var rows = alter(lines.Skip(1).Where(l => l.Length > 0).Select(TrainingRow.Parse));
            await File.WriteAllLinesAsync(sample, [header, .. rows.Select(r => r.ToString())]);
            await PredictorImages.BuildPredictorAsync(tree, tag, seed: 1);
        }
        finally
        {
            Directory.Delete(tree, recursive: true);
        }
    }

    private static void CopyBuildInputs(string root, string target)
    {
        string[] skipped = ["bin", "obj", ".git", "TestResults", "node_modules", "tests", "bench", ".vs", ".idea"];
        foreach (var source in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, source);
            if (relative.Split(Path.DirectorySeparatorChar).Any(skipped.Contains))
            {
                continue;
            }

            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination);
        }
    }

    /// <summary>One row of the sample's snake_case CSV (no quoting: the sample generator writes none).</summary>
    internal sealed record TrainingRow(string Categoricals, int MathScore, int ReadingScore, int WritingScore)
    {
        public static TrainingRow Parse(string line)
        {
            var fields = line.Split(',');
            Assert.Equal(8, fields.Length);
            return new TrainingRow(string.Join(',', fields[..5]), Int(fields[5]), Int(fields[6]), Int(fields[7]));
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Categoricals},{MathScore},{ReadingScore},{WritingScore}");

        private static int Int(string text) => int.Parse(text, CultureInfo.InvariantCulture);
    }
}
