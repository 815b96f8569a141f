using System.Globalization;
using System.Text;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Training;

/// <summary>One good data row: its 0-based data-row number (what --test-rows lists), its file line and values.</summary>
public sealed record LabeledStudent(int Row, int Line, StudentFeatures Features, float MathScore);

/// <summary>A data row that could not be used, and why.</summary>
public sealed record CsvRowError(int Row, int Line, string Reason)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"line {Line}: {Reason}");
}

/// <summary>What a CSV held: the good rows, the bad ones with their line numbers, and how many data rows in all.</summary>
public sealed record StudentCsvData(string HeaderStyle, IReadOnlyList<LabeledStudent> Rows, IReadOnlyList<CsvRowError> Errors, int DataRows);

/// <summary>The file as a whole is unusable (no header, a required column missing).</summary>
public sealed class CsvFormatException : Exception
{
    public CsvFormatException() { }

    public CsvFormatException(string message) : base(message) { }

    public CsvFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Reads the students CSV in either header spelling: the snake_case one (<c>race_ethnicity</c>) and Kaggle's
/// spaced one (<c>race/ethnicity</c>, <c>math score</c>). Values may be quoted or not. Columns may come in any order.
/// </summary>
public static class StudentCsv
{
    public const string SnakeCaseHeader =
        "gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,math_score,reading_score,writing_score";

    private static readonly string[] Required = [.. StudentColumns.Categorical, StudentColumns.MathScore, .. StudentColumns.Numeric];

    public static StudentCsvData Read(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Parse(reader);
    }

    public static StudentCsvData Parse(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var fields = new List<string>(8);
        var lineNumber = 0;
        string? line;
        do
        {
            line = reader.ReadLine();
            lineNumber++;
        }
        while (line is not null && string.IsNullOrWhiteSpace(line));

        if (line is null)
        {
            throw new CsvFormatException("the file is empty: expected a header line");
        }

        if (Split(line, fields) is { } headerError)
        {
            throw new CsvFormatException($"line {lineNumber}: bad header: {headerError}");
        }

        var (columnOf, style) = MapHeader(fields, lineNumber);
        var headerCount = fields.Count;
        var rows = new List<LabeledStudent>();
        var errors = new List<CsvRowError>();
        var dataRow = 0;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var row = dataRow++;
            LabeledStudent? student = null;
            var error = Split(line, fields) ?? ParseRow(fields, columnOf, headerCount, row, lineNumber, out student);
            if (error is null)
            {
                rows.Add(student!);
            }
            else
            {
                errors.Add(new CsvRowError(row, lineNumber, error));
            }
        }

        return new StudentCsvData(style, rows, errors, dataRow);
    }

    private static (int[] ColumnOf, string Style) MapHeader(List<string> header, int lineNumber)
    {
        var columnOf = new int[Required.Length];
        Array.Fill(columnOf, -1);
        var spaced = false;
        for (var i = 0; i < header.Count; i++)
        {
            var raw = header[i].Trim();
            spaced |= raw.Contains(' ', StringComparison.Ordinal) || raw.Contains('/', StringComparison.Ordinal);
            var name = raw.ToLowerInvariant().Replace(' ', '_').Replace('/', '_');
            var index = Array.IndexOf(Required, name);
            if (index >= 0)
            {
                if (columnOf[index] >= 0)
                {
                    throw new CsvFormatException($"line {lineNumber}: column '{raw}' appears twice in the header");
                }

                columnOf[index] = i;
            }
        }

        var missing = Required.Where((_, i) => columnOf[i] < 0).ToArray();
        if (missing.Length > 0)
        {
            throw new CsvFormatException(
                $"line {lineNumber}: header lacks {string.Join(", ", missing)}; expected '{SnakeCaseHeader}' or Kaggle's spaced spelling");
        }

        return (columnOf, spaced ? "spaced" : "snake_case");
    }

    private static string? ParseRow(List<string> fields, int[] columnOf, int headerCount, int row, int line, out LabeledStudent? student)
    {
        student = null;
        if (fields.Count != headerCount)
        {
            return string.Create(CultureInfo.InvariantCulture, $"expected {headerCount} values like the header, found {fields.Count}");
        }

        var text = new string[StudentColumns.Categorical.Count];
        for (var i = 0; i < text.Length; i++)
        {
            text[i] = fields[columnOf[i]].Trim();
            if (text[i].Length == 0)
            {
                return $"{Required[i]} is empty";
            }
        }

        var scores = new float[3];
        for (var i = 0; i < scores.Length; i++)
        {
            var name = Required[text.Length + i];
            var value = fields[columnOf[text.Length + i]].Trim();
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
            {
                return $"{name} '{value}' is not a number";
            }

            if (number < StudentColumns.ScoreMin || number > StudentColumns.ScoreMax)
            {
                return $"{name} {value} is outside 0..100";
            }

            scores[i] = (float)number;
        }

        student = new LabeledStudent(
            row,
            line,
            new StudentFeatures(text[0], text[1], text[2], text[3], text[4], ReadingScore: scores[1], WritingScore: scores[2]),
            MathScore: scores[0]);
        return null;
    }

    /// <summary>Splits one line into fields (RFC 4180 quoting, no line breaks inside quotes). Returns an error or null.</summary>
    internal static string? Split(string line, List<string> fields)
    {
        fields.Clear();
        var value = new StringBuilder();
        var i = 0;
        while (true)
        {
            value.Clear();
            while (i < line.Length && line[i] == ' ')
            {
                i++;
            }

            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        return "unterminated quoted value";
                    }

                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            value.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    value.Append(line[i++]);
                }

                while (i < line.Length && line[i] == ' ')
                {
                    i++;
                }

                if (i < line.Length && line[i] != ',')
                {
                    return "text after a closing quote";
                }
            }
            else
            {
                while (i < line.Length && line[i] != ',')
                {
                    if (line[i] == '"')
                    {
                        return "quote inside an unquoted value";
                    }

                    value.Append(line[i++]);
                }
            }

            fields.Add(value.ToString());
            if (i >= line.Length)
            {
                return null;
            }

            i++; // the comma
        }
    }
}
