using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StudentPerformance.Features;
using StudentPerformance.V1;

namespace StudentPerformance.Deployer.Readiness;

/// <summary>One labelled row of the golden set: the student as Predict takes it, the known math score and its file line.</summary>
public sealed record GoldenRow(int Line, Student Student, double MathScore);

/// <summary>The labelled rows the quality gate scores both models on, and where they came from.</summary>
public sealed class GoldenSet
{
    internal GoldenSet(string path, string sha256, IReadOnlyList<GoldenRow> rows)
    {
        Path = path;
        Sha256 = sha256;
        Rows = rows;
        Expected = [.. rows.Select(r => r.MathScore)];
    }

    public string Path { get; }

    /// <summary>sha256 of the file, hex, so a report says which set judged the model.</summary>
    public string Sha256 { get; }

    public IReadOnlyList<GoldenRow> Rows { get; }

    /// <summary>The known math scores, in row order.</summary>
    public IReadOnlyList<double> Expected { get; }
}

/// <summary>The golden set cannot be used; the message names the reason and, for a bad row, its line.</summary>
public sealed class GoldenSetException : Exception
{
    public GoldenSetException() { }

    public GoldenSetException(string message) : base(message) { }

    public GoldenSetException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Reads a golden set in the dataset's CSV format through the shared reader (<see cref="StudentCsv"/>, the trainer's
/// own), in either header spelling. The first bad row stops the read, because a gate that silently drops rows would
/// judge on a set nobody chose.
/// </summary>
public static class GoldenSetReader
{
    public static GoldenSet Load(string path, int minRows)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new GoldenSetException($"'{path}' cannot be read: {ex.Message}", ex);
        }

        using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var rows = Parse(reader, path);
        if (rows.Count < minRows)
        {
            throw new GoldenSetException(string.Create(CultureInfo.InvariantCulture,
                $"'{path}' has {rows.Count} rows, fewer than {QualityGateOptions.Key(nameof(QualityGateOptions.MinRows))} ({minRows})"));
        }

        if (rows.All(r => r.MathScore == rows[0].MathScore))
        {
            throw new GoldenSetException($"'{path}': every math_score is {rows[0].MathScore.ToString(CultureInfo.InvariantCulture)}; R² needs labels that vary");
        }

        return new GoldenSet(path, Convert.ToHexStringLower(SHA256.HashData(bytes)), rows);
    }

    public static IReadOnlyList<GoldenRow> Parse(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        StudentCsvFile file;
        try
        {
            file = StudentCsv.Parse(reader, requireLabel: true);
        }
        catch (CsvFormatException ex)
        {
            throw new GoldenSetException(ex.Message.StartsWith("line ", StringComparison.Ordinal) ? $"'{source}' {ex.Message}" : $"'{source}': {ex.Message}", ex);
        }

        if (file.Errors.Count > 0)
        {
            throw new GoldenSetException($"'{source}' {file.Errors[0]}");
        }

        return [.. file.Rows.Select(r => new GoldenRow(r.Line, ToStudent(r), r.MathScore!.Value))];
    }

    /// <summary>The row's inputs as <c>Predict</c> takes them.</summary>
    public static Student ToStudent(StudentRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return new Student
        {
            Gender = row.Gender,
            RaceEthnicity = row.RaceEthnicity,
            ParentalLevelOfEducation = row.ParentalLevelOfEducation,
            Lunch = row.Lunch,
            TestPreparationCourse = row.TestPreparationCourse,
            ReadingScore = row.ReadingScore,
            WritingScore = row.WritingScore,
        };
    }
}
