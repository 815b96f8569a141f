using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Tests.Support;
using StudentPerformance.Predictor.Training;
using CsvFormatException = StudentPerformance.Features.CsvFormatException;

namespace StudentPerformance.Predictor.Tests.Training;

public sealed class StudentCsvTests
{
    private static StudentCsvData Parse(string text) => StudentCsv.Parse(new StringReader(text));

    [Fact]
    public void Parse_SnakeCaseHeaderQuotedValues_ReadsEveryField()
    {
        var csv = """
            "gender","race_ethnicity","parental_level_of_education","lunch","test_preparation_course","math_score","reading_score","writing_score"
            "female","group B","bachelor's degree","standard","none","72","72","74"
            """;

        var data = Parse(csv);

        Assert.Equal("snake_case", data.HeaderStyle);
        Assert.Empty(data.Errors);
        var row = Assert.Single(data.Rows);
        Assert.Equal(new StudentFeatures("female", "group B", "bachelor's degree", "standard", "none", 72, 74), row.Features);
        Assert.Equal(72, row.MathScore);
        Assert.Equal(0, row.Row);
        Assert.Equal(2, row.Line);
    }

    [Fact]
    public void Parse_KaggleSpacedHeaderUnquotedValues_ReadsEveryField()
    {
        var csv = """
            gender,race/ethnicity,parental level of education,lunch,test preparation course,math score,reading score,writing score
            male,group A,high school,free/reduced,none,47,57,44
            female,group C,some college,standard,completed,69,90,88
            """;

        var data = Parse(csv);

        Assert.Equal("spaced", data.HeaderStyle);
        Assert.Empty(data.Errors);
        Assert.Equal(2, data.Rows.Count);
        Assert.Equal(new StudentFeatures("male", "group A", "high school", "free/reduced", "none", 57, 44), data.Rows[0].Features);
        Assert.Equal(47, data.Rows[0].MathScore);
        Assert.Equal(1, data.Rows[1].Row);
    }

    [Fact]
    public void Parse_ColumnsInAnotherOrderWithCrLf_MapsByName()
    {
        var csv = "math_score,reading_score,writing_score,gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course\r\n"
            + "50,60,70,male,group E,\"master's degree\",standard,none\r\n";

        var row = Assert.Single(Parse(csv).Rows);

        Assert.Equal(50, row.MathScore);
        Assert.Equal(60, row.Features.ReadingScore);
        Assert.Equal(70, row.Features.WritingScore);
        Assert.Equal("master's degree", row.Features.ParentalLevelOfEducation);
    }

    [Fact]
    public void Parse_BadRows_ReportsEachWithItsLineNumberAndKeepsGoodRows()
    {
        var csv = """
            gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,math_score,reading_score,writing_score
            female,group B,bachelor's degree,standard,none,72,72,74
            female,group B,bachelor's degree,standard,none,seventy,72,74

            male,group A,high school,free/reduced,none,47,101,44
            male,,high school,free/reduced,none,47,57,44
            male,group A,high school,free/reduced,none,47,57
            "male,group A,high school,free/reduced,none,47,57,44
            male,group A,high school,free/reduced,none,47,57,NaN
            male,group A,high school,free/reduced,none,47,57,44
            """;

        var data = Parse(csv);

        Assert.Equal(2, data.Rows.Count);
        Assert.Equal(8, data.DataRows);
        Assert.Equal([3, 5, 6, 7, 8, 9], data.Errors.Select(e => e.Line));
        Assert.Contains("math_score 'seventy' is not a number", data.Errors[0].Reason, StringComparison.Ordinal);
        Assert.Contains("reading_score 101 is outside 0..100", data.Errors[1].Reason, StringComparison.Ordinal);
        Assert.Contains("race_ethnicity is empty", data.Errors[2].Reason, StringComparison.Ordinal);
        Assert.Contains("found 7", data.Errors[3].Reason, StringComparison.Ordinal);
        Assert.Contains("unterminated", data.Errors[4].Reason, StringComparison.Ordinal);
        Assert.Contains("writing_score 'NaN'", data.Errors[5].Reason, StringComparison.Ordinal);
        Assert.Equal("line 3: math_score 'seventy' is not a number", data.Errors[0].ToString());
        Assert.Equal(7, data.Rows[1].Row);
    }

    [Fact]
    public void Parse_HeaderMissingAColumn_ThrowsNamingIt()
    {
        var csv = "gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,reading_score,writing_score\n";

        var error = Assert.Throws<CsvFormatException>(() => Parse(csv));

        Assert.Contains("math_score", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EmptyFile_Throws()
    {
        Assert.Throws<CsvFormatException>(() => Parse("\n\n"));
    }

    [Fact]
    public void Read_ReferenceDataset_ReadsAllThousandRows()
    {
        var data = StudentCsv.Read(RepoPaths.StudCsv);

        Assert.Equal(1000, data.Rows.Count);
        Assert.Empty(data.Errors);
        Assert.Equal(518, data.Rows.Count(r => r.Features.Gender == "female"));
        Assert.Equal(66.089, data.Rows.Average(r => r.MathScore), 3);
    }
}
