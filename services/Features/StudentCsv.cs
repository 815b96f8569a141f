using System.Globalization;
using System.Text;

namespace StudentPerformance.Features;

/// <summary>A data row that could not be used, and why.</summary>
public sealed record CsvRowError(int Row, int Line, string Reason)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"line {Line}: {Reason}");
}

/// <summary>What a CSV held: the good rows, the bad ones with their line numbers, and how many data rows in all.</summary>
public sealed record StudentCsvFile(string HeaderStyle, IReadOnlyList<StudentRow> Rows, IReadOnlyList<CsvRowError> Errors, int DataRows);

/// <summary>The file as a whole is unusable (no header, a required column missing).</summary>
public sealed class CsvFormatException : Exception
{
    public CsvFormatException() { }

    public CsvFormatException(string message) : base(message) { }

    public CsvFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Reads and writes the students CSV. Reading takes either header spelling: the snake_case one
/// (<c>race_ethnicity</c>) and Kaggle's spaced one (<c>race/ethnicity</c>, <c>math score</c>). Values may be quoted
/// (RFC 4180, no line breaks inside quotes); columns may come in any order; extra columns are ignored. A bad row is
/// reported with its line and the reason, and the caller decides whether it stops the read.
/// </summary>
public static class StudentCsv
{
    private static readonly string[] Columns =
        [.. FeatureSchema.Categorical, FeatureSchema.MathScore, .. FeatureSchema.Numeric];

    private const int LabelColumn = 5;

    /// <summary>Reads <paramref name="path"/> (UTF-8, a BOM is skipped).</summary>
    public static StudentCsvFile Read(string path, bool requireLabel)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Parse(reader, requireLabel);
    }

    /// <summary>
    /// Parses a whole file. With <paramref name="requireLabel"/> the header must name <c>math_score</c>; without it the
    /// label is read when the header names it and left null otherwise (a recorded sample holds inputs only).
    /// Throws <see cref="CsvFormatException"/> when the header is missing or lacks a column.
    /// </summary>
    public static StudentCsvFile Parse(TextReader reader, bool requireLabel)
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

        var (columnOf, style) = MapHeader(fields, lineNumber, requireLabel);
        var headerCount = fields.Count;
        var rows = new List<StudentRow>();
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
            StudentRow? student = null;
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

        return new StudentCsvFile(style, rows, errors, dataRow);
    }

    /// <summary>Writes the inputs-only header line (<see cref="FeatureSchema.InputHeader"/>).</summary>
    public static void WriteInputHeader(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(FeatureSchema.InputHeader);
        writer.Write('\n');
    }

    /// <summary>Writes one inputs-only row, quoting a value only when it holds a comma, a quote or a leading space.</summary>
    public static void WriteInputRow(TextWriter writer, string gender, string raceEthnicity, string parentalLevelOfEducation, string lunch, string testPreparationCourse, double readingScore, double writingScore)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var value in (ReadOnlySpan<string>)[gender, raceEthnicity, parentalLevelOfEducation, lunch, testPreparationCourse])
        {
            WriteValue(writer, value);
            writer.Write(',');
        }

        writer.Write(readingScore.ToString("R", CultureInfo.InvariantCulture));
        writer.Write(',');
        writer.Write(writingScore.ToString("R", CultureInfo.InvariantCulture));
        writer.Write('\n');
    }

    private static void WriteValue(TextWriter writer, string value)
    {
        if (value.AsSpan().IndexOfAny(",\"") < 0 && !value.StartsWith(' '))
        {
            writer.Write(value);
            return;
        }

        writer.Write('"');
        writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        writer.Write('"');
    }

    private static (int[] ColumnOf, string Style) MapHeader(List<string> header, int lineNumber, bool requireLabel)
    {
        var columnOf = new int[Columns.Length];
        Array.Fill(columnOf, -1);
        var spaced = false;
        for (var i = 0; i < header.Count; i++)
        {
            var raw = header[i].Trim();
            spaced |= raw.Contains(' ', StringComparison.Ordinal) || raw.Contains('/', StringComparison.Ordinal);
            var index = Array.IndexOf(Columns, FeatureSchema.Fold(raw));
            if (index >= 0)
            {
                if (columnOf[index] >= 0)
                {
                    throw new CsvFormatException($"line {lineNumber}: column '{raw}' appears twice in the header");
                }

                columnOf[index] = i;
            }
        }

        var missing = Columns.Where((_, i) => columnOf[i] < 0 && (requireLabel || i != LabelColumn)).ToArray();
        if (missing.Length > 0)
        {
            var expected = requireLabel ? FeatureSchema.LabelledHeader : FeatureSchema.InputHeader;
            throw new CsvFormatException(
                $"line {lineNumber}: the header lacks {string.Join(", ", missing)}; expected '{expected}' or Kaggle's spaced spelling");
        }

        return (columnOf, spaced ? "spaced" : "snake_case");
    }

    private static string? ParseRow(List<string> fields, int[] columnOf, int headerCount, int row, int line, out StudentRow? student)
    {
        student = null;
        if (fields.Count != headerCount)
        {
            return string.Create(CultureInfo.InvariantCulture, $"expected {headerCount} values like the header, found {fields.Count}");
        }

        var text = new string[FeatureSchema.Categorical.Count];
        for (var i = 0; i < text.Length; i++)
        {
            text[i] = fields[columnOf[i]].Trim();
            if (text[i].Length == 0)
            {
                return $"{Columns[i]} is empty";
            }
        }

        // math_score, reading_score, writing_score, in the order the dataset's header has them.
        var scores = new double?[3];
        for (var i = 0; i < scores.Length; i++)
        {
            var column = columnOf[LabelColumn + i];
            if (column < 0)
            {
                continue;
            }

            var name = Columns[LabelColumn + i];
            var value = fields[column].Trim();
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
            {
                return $"{name} '{value}' is not a number";
            }

            if (number is < FeatureSchema.ScoreMin or > FeatureSchema.ScoreMax)
            {
                return $"{name} {value} is outside 0..100";
            }

            scores[i] = number;
        }

        student = new StudentRow(row, line, text[0], text[1], text[2], text[3], text[4], scores[1]!.Value, scores[2]!.Value, scores[0]);
        return null;
    }

    /// <summary>Splits one line into fields (RFC 4180 quoting, no line breaks inside quotes). Returns an error or null.</summary>
    public static string? Split(string line, List<string> fields)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(fields);
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
