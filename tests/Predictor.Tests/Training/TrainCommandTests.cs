using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Tests.Support;
using StudentPerformance.Predictor.Training;

namespace StudentPerformance.Predictor.Tests.Training;

public sealed class TrainCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<(int Exit, string Stdout, string Stderr)> Train(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await TrainCommand.RunAsync(args, new FakeTimeProvider(TrainedModels.TrainedAt), stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static JsonElement LastLine(string stdout) => JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]).RootElement;

    /// <summary>The committed sample in Kaggle's spelling, with two broken rows inserted after data row 10 and 20.</summary>
    private string SampleWithBadRows()
    {
        var lines = File.ReadAllLines(RepoPaths.SampleCsv).ToList();
        lines[0] = "gender,race/ethnicity,parental level of education,lunch,test preparation course,math score,reading score,writing score";
        lines.Insert(11, "female,group B,high school,standard,none,abc,50,50");
        lines.Insert(22, "female,group B,high school,standard,none,50,50");
        var path = _dir.File("with-bad-rows.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void RunAsync_SampleWithDefaultHoldout_PrintsSummaryJsonLastAndSavesModel()
    {
        var run = TrainedModels.Sample;

        Assert.Equal(0, run.ExitCode);
        var summary = run.Summary;
        Assert.Equal(800, summary.GetProperty("rows_train").GetInt32());
        Assert.Equal(200, summary.GetProperty("rows_test").GetInt32());
        foreach (var key in new[] { "r2", "rmse", "mae", "cv_r2_mean", "cv_r2_sd" })
        {
            Assert.True(summary.GetProperty(key).GetDouble() > 0, key);
        }

        Assert.Equal(ModelBundle.Load(run.ModelPath).Version, summary.GetProperty("model_version").GetString());
        Assert.Contains("5-fold CV", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("linear fold matches ML.NET within 0.0001 on all 1000 rows", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_BadRows_FailsListingTheirLineNumbersAndSavesNothing()
    {
        var output = _dir.File("model.zip");

        var (exit, _, stderr) = await Train("--data", SampleWithBadRows(), "--out", output);

        Assert.Equal(2, exit);
        Assert.Contains("line 12: math_score 'abc' is not a number", stderr, StringComparison.Ordinal);
        Assert.Contains("line 23: expected 8 values", stderr, StringComparison.Ordinal);
        Assert.Contains("--skip-bad-rows", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task RunAsync_SkipBadRows_StillReportsAndCountsThem()
    {
        var output = _dir.File("model.zip");

        var (exit, stdout, stderr) = await Train("--data", SampleWithBadRows(), "--out", output, "--skip-bad-rows");

        Assert.Equal(0, exit);
        Assert.Contains("line 12", stderr, StringComparison.Ordinal);
        Assert.Contains("line 23", stderr, StringComparison.Ordinal);
        var summary = LastLine(stdout);
        Assert.Equal(2, summary.GetProperty("rows_bad").GetInt32());
        Assert.Equal(1000, summary.GetProperty("rows_train").GetInt32() + summary.GetProperty("rows_test").GetInt32());
        Assert.True(File.Exists(output));
    }

    [Fact]
    public async Task RunAsync_BelowQualityFloor_RefusesToSave()
    {
        var output = _dir.File("model.zip");

        var (exit, stdout, stderr) = await Train("--data", RepoPaths.SampleCsv, "--out", output, "--min-r2", "0.99");

        Assert.Equal(1, exit);
        Assert.Contains("below the floor", stderr, StringComparison.Ordinal);
        Assert.Contains("NOT saved", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        var summary = LastLine(stdout);
        Assert.False(summary.GetProperty("saved").GetBoolean());
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("model_version").ValueKind);
    }

    [Fact]
    public async Task RunAsync_TestRowsPastTheData_FailsNamingThem()
    {
        var rows = _dir.File("rows.txt");
        File.WriteAllLines(rows, ["3", "5000"]);

        var (exit, _, stderr) = await Train("--data", RepoPaths.SampleCsv, "--out", _dir.File("m.zip"), "--test-rows", rows);

        Assert.Equal(2, exit);
        Assert.Contains("5000", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--data", new[] { "--data" })]
    [InlineData("--data", new[] { "--out", "x.zip" })]
    [InlineData("--out", new[] { "--data", "x.csv" })]
    [InlineData("--seed", new[] { "--data", "x.csv", "--out", "x.zip", "--seed", "abc" })]
    [InlineData("--min-r2", new[] { "--data", "x.csv", "--out", "x.zip", "--min-r2", "1.5" })]
    [InlineData("--l2", new[] { "--data", "x.csv", "--out", "x.zip", "--l2", "-1" })]
    [InlineData("--colour", new[] { "--data", "x.csv", "--out", "x.zip", "--colour", "red" })]
    public async Task RunAsync_BadArguments_ExitTwoNamingTheOption(string option, string[] args)
    {
        var (exit, stdout, stderr) = await Train(args);

        Assert.Equal(2, exit);
        Assert.Contains(stderr.Split('\n'), line => line.StartsWith("train: ", StringComparison.Ordinal) && line.Contains(option, StringComparison.Ordinal));
        Assert.Contains("--help", stderr, StringComparison.Ordinal);
        Assert.Empty(stdout);
    }

    [Fact]
    public async Task RunAsync_Help_ListsEveryOptionAndExitsZero()
    {
        var (exit, stdout, _) = await Train("--help");

        Assert.Equal(0, exit);
        foreach (var option in new[] { "--data", "--out", "--test-rows", "--seed", "--min-r2", "--l2", "--skip-bad-rows" })
        {
            Assert.Contains(option, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RunAsync_MissingDataFile_ExitTwoNamingIt()
    {
        var (exit, _, stderr) = await Train("--data", _dir.File("nope.csv"), "--out", _dir.File("m.zip"));

        Assert.Equal(2, exit);
        Assert.Contains("nope.csv", stderr, StringComparison.Ordinal);
    }
}
