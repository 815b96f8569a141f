using StudentPerformance.Predictor.Tests.Support;
using StudentPerformance.Predictor.Training;

namespace StudentPerformance.Predictor.Tests.Training;

public sealed class SampleGeneratorTests
{
    [Fact]
    public void Generate_SameSeed_SameRows()
    {
        var first = SampleGenerator.ToCsv(SampleGenerator.Generate(300, 7));
        var second = SampleGenerator.ToCsv(SampleGenerator.Generate(300, 7));
        var otherSeed = SampleGenerator.ToCsv(SampleGenerator.Generate(300, 8));

        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
    }

    [Fact]
    public void CommittedSample_EqualsGeneratorOutputWithDefaults()
    {
        var committed = File.ReadAllText(RepoPaths.SampleCsv);

        var generated = SampleGenerator.ToCsv(SampleGenerator.Generate(SampleGenerator.DefaultRows, SampleGenerator.DefaultSeed));

        Assert.Equal(generated, committed);
    }

    [Fact]
    public async Task GenerateSampleCommand_Defaults_WritesTheCommittedFile()
    {
        using var dir = new TempDirectory();
        var output = dir.File("students.csv");

        var exit = await GenerateSampleCommand.RunAsync(["--out", output, "--rows", "1000", "--seed", "42"], TextWriter.Null, TextWriter.Null);

        Assert.Equal(0, exit);
        Assert.Equal(File.ReadAllBytes(RepoPaths.SampleCsv), File.ReadAllBytes(output));
    }

    [Fact]
    public async Task GenerateSampleCommand_MissingOut_FailsNamingIt()
    {
        var stderr = new StringWriter();

        var exit = await GenerateSampleCommand.RunAsync(["--rows", "10"], TextWriter.Null, stderr);

        Assert.Equal(2, exit);
        Assert.Contains("generate-sample: Option '--out' is required.", stderr.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--rows", "0")]
    [InlineData("--rows", "many")]
    [InlineData("--seed", "x")]
    public async Task GenerateSampleCommand_BadValue_FailsNamingTheOption(string option, string value)
    {
        var stderr = new StringWriter();

        var exit = await GenerateSampleCommand.RunAsync(["--out", "unused.csv", option, value], TextWriter.Null, stderr);

        Assert.Equal(2, exit);
        Assert.Contains(option, stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists("unused.csv"));
    }

    [Fact]
    public void Generate_ThousandRows_FollowsTheDatasetFacts()
    {
        var rows = StudentCsv.Parse(new StringReader(SampleGenerator.ToCsv(SampleGenerator.Generate(1000, 42))));

        Assert.Empty(rows.Errors);
        var students = rows.Rows;
        // Category frequencies are exact at 1000 rows (data/reference/README.md).
        Assert.Equal(518, students.Count(s => s.Features.Gender == "female"));
        Assert.Equal(319, students.Count(s => s.Features.RaceEthnicity == "group C"));
        Assert.Equal(59, students.Count(s => s.Features.ParentalLevelOfEducation == "master's degree"));
        Assert.Equal(645, students.Count(s => s.Features.Lunch == "standard"));
        Assert.Equal(358, students.Count(s => s.Features.TestPreparationCourse == "completed"));

        double[] math = [.. students.Select(s => (double)s.MathScore)];
        double[] reading = [.. students.Select(s => (double)s.Features.ReadingScore)];
        double[] writing = [.. students.Select(s => (double)s.Features.WritingScore)];
        Assert.InRange(math.Average(), 66.09 - 1.5, 66.09 + 1.5);
        Assert.InRange(Sd(math), 15.16 - 1.5, 15.16 + 1.5);
        Assert.InRange(reading.Average(), 69.17 - 1.5, 69.17 + 1.5);
        Assert.InRange(writing.Average(), 68.05 - 1.5, 68.05 + 1.5);
        Assert.InRange(Correlation(math, reading), 0.818 - 0.04, 0.818 + 0.04);
        Assert.InRange(Correlation(math, writing), 0.803 - 0.04, 0.803 + 0.04);
        Assert.InRange(Correlation(reading, writing), 0.955 - 0.02, 0.955 + 0.02);
        Assert.All(math.Concat(reading).Concat(writing), v => Assert.True(v is >= 0 and <= 100 && v == Math.Floor(v)));

        // The direction of the category effects: males score higher in math, lower in reading.
        var male = students.Where(s => s.Features.Gender == "male").ToArray();
        var female = students.Where(s => s.Features.Gender == "female").ToArray();
        Assert.True(male.Average(s => s.MathScore) > female.Average(s => s.MathScore));
        Assert.True(male.Average(s => s.Features.ReadingScore) < female.Average(s => s.Features.ReadingScore));
    }

    private static double Sd(double[] v)
    {
        var mean = v.Average();
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length);
    }

    private static double Correlation(double[] a, double[] b)
    {
        var (ma, mb) = (a.Average(), b.Average());
        var cov = a.Zip(b, (x, y) => (x - ma) * (y - mb)).Sum() / a.Length;
        return cov / (Sd(a) * Sd(b));
    }
}
