using System.Globalization;
using StudentPerformance.Deployer.Readiness;

namespace Deployer.Tests.Readiness;

public sealed class GoldenSetReaderTests : IDisposable
{
    private const string SnakeHeader = "gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,math_score,reading_score,writing_score";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("sp-golden-");

    [Fact]
    public void Parse_BothHeaderSpellings_ReadTheSameRows()
    {
        var snake = GoldenSetReader.Parse(new StringReader(SnakeHeader + "\nfemale,group B,bachelor's degree,standard,none,72,72,74\n"), "snake");
        var spaced = GoldenSetReader.Parse(new StringReader(
            "\"gender\",\"race/ethnicity\",\"parental level of education\",\"lunch\",\"test preparation course\",\"math score\",\"reading score\",\"writing score\"\n" +
            "\"female\",\"group B\",\"bachelor's degree\",\"standard\",\"none\",\"72\",\"72\",\"74\"\n"), "spaced");

        Assert.Equal(snake.Single().Student, spaced.Single().Student);
        Assert.Equal(72, spaced.Single().MathScore);
        Assert.Equal("group B", spaced.Single().Student.RaceEthnicity);
        Assert.Equal(74, spaced.Single().Student.WritingScore);
    }

    [Fact]
    public void Parse_ColumnsInAnotherOrderAndExtraColumns_AreMappedByName()
    {
        var rows = GoldenSetReader.Parse(new StringReader(
            "id,math_score,writing_score,reading_score,lunch,gender,race_ethnicity,parental_level_of_education,test_preparation_course\n" +
            "7,55,60,65,free/reduced,male,group C,high school,completed\n"), "reordered");

        var row = Assert.Single(rows);
        Assert.Equal(55, row.MathScore);
        Assert.Equal(65, row.Student.ReadingScore);
        Assert.Equal(60, row.Student.WritingScore);
        Assert.Equal("male", row.Student.Gender);
        Assert.Equal(2, row.Line);
    }

    [Theory]
    [InlineData("female,group B,bachelor's degree,standard,none,abc,72,74", "line 3: math_score 'abc' is not a number")]
    [InlineData("female,group B,bachelor's degree,standard,none,72,172,74", "line 3: reading_score 172 is outside 0..100")]
    [InlineData("female,group B,bachelor's degree,standard,none,72,72", "line 3: expected 8 values like the header, found 7")]
    [InlineData(",group B,bachelor's degree,standard,none,72,72,74", "line 3: gender is empty")]
    [InlineData("\"female,group B,bachelor's degree,standard,none,72,72,74", "line 3: unterminated quoted value")]
    public void Parse_BadRow_NamesTheLineAndTheReason(string bad, string expected)
    {
        var text = SnakeHeader + "\nmale,group A,high school,standard,none,60,61,62\n" + bad + "\n";

        var error = Assert.Throws<GoldenSetException>(() => GoldenSetReader.Parse(new StringReader(text), "g.csv"));

        Assert.Equal($"'g.csv' {expected}", error.Message);
    }

    [Fact]
    public void Parse_HeaderWithoutTheLabel_NamesTheMissingColumn()
    {
        var error = Assert.Throws<GoldenSetException>(() => GoldenSetReader.Parse(
            new StringReader("gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,reading_score,writing_score\n"), "g.csv"));

        Assert.Contains("lacks math_score", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_FewerRowsThanMinRows_NamesTheKey()
    {
        var path = Write(SetText(10));

        var error = Assert.Throws<GoldenSetException>(() => GoldenSetReader.Load(path, minRows: 11));

        Assert.Contains("has 10 rows, fewer than Deployer:QualityGate:MinRows (11)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_SaysItCannotBeRead()
    {
        var path = Path.Combine(_folder.FullName, "absent.csv");

        var error = Assert.Throws<GoldenSetException>(() => GoldenSetReader.Load(path, minRows: 1));

        Assert.StartsWith($"'{path}' cannot be read:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_AllLabelsEqual_IsRefusedBecauseR2IsUndefined()
    {
        var path = Write(SnakeHeader + "\n" + string.Concat(Enumerable.Repeat("male,group A,high school,standard,none,60,61,62\n", 5)));

        var error = Assert.Throws<GoldenSetException>(() => GoldenSetReader.Load(path, minRows: 2));

        Assert.Contains("every math_score is 60", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TheShippedGoldenSet_Has200RowsAndTheDocumentedHash()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "golden", "students-golden.csv");

        var set = GoldenSetReader.Load(path, minRows: 50);

        Assert.Equal(200, set.Rows.Count);
        Assert.Equal("ef5c99d3b1862709af8f594f501498c8997140f5d748a932df7a7f9f5c47a13c", set.Sha256);
    }

    public void Dispose() => _folder.Delete(recursive: true);

    /// <summary>A small valid set of <paramref name="rows"/> rows with varying labels.</summary>
    internal static GoldenSet SetOf(int rows)
    {
        var parsed = GoldenSetReader.Parse(new StringReader(SetText(rows)), "test");
        return new GoldenSet("test", "none", parsed);
    }

    private static string SetText(int rows) =>
        SnakeHeader + "\n" + string.Concat(Enumerable.Range(0, rows).Select(i =>
            string.Create(CultureInfo.InvariantCulture, $"female,group C,some college,standard,none,{40 + i},{45 + i},{50 + i}\n")));

    private string Write(string text)
    {
        var path = Path.Combine(_folder.FullName, "golden.csv");
        File.WriteAllText(path, text);
        return path;
    }
}
