using StudentPerformance.Features;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Training;

/// <summary>One good data row: its 0-based data-row number (what --test-rows lists), its file line and values.</summary>
public sealed record LabeledStudent(int Row, int Line, StudentFeatures Features, float MathScore);

/// <summary>What a CSV held: the good rows, the bad ones with their line numbers, and how many data rows in all.</summary>
public sealed record StudentCsvData(string HeaderStyle, IReadOnlyList<LabeledStudent> Rows, IReadOnlyList<CsvRowError> Errors, int DataRows);

/// <summary>
/// The training data: the shared reader (<see cref="Features.StudentCsv"/>, the one the golden set and the shadow
/// replay use) with the label required, its rows as the model's <see cref="StudentFeatures"/>.
/// </summary>
public static class StudentCsv
{
    public const string SnakeCaseHeader = FeatureSchema.LabelledHeader;

    public static StudentCsvData Read(string path)
    {
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Parse(reader);
    }

    public static StudentCsvData Parse(TextReader reader)
    {
        var file = Features.StudentCsv.Parse(reader, requireLabel: true);
        return new StudentCsvData(file.HeaderStyle, [.. file.Rows.Select(ToLabeled)], file.Errors, file.DataRows);
    }

    private static LabeledStudent ToLabeled(StudentRow row) => new(
        row.Row,
        row.Line,
        new StudentFeatures(row.Gender, row.RaceEthnicity, row.ParentalLevelOfEducation, row.Lunch, row.TestPreparationCourse,
            (float)row.ReadingScore, (float)row.WritingScore),
        (float)row.MathScore!.Value);
}
