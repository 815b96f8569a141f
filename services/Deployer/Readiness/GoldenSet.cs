using System.Globalization;
using System.Security.Cryptography;
using System.Text;
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
/// Reads a golden set in the dataset's CSV format, in either header spelling the predictor's <c>train</c> reads:
/// snake_case (<c>race_ethnicity</c>, <c>math_score</c>) or Kaggle's spaced one (<c>race/ethnicity</c>,
/// <c>math score</c>). Values may be quoted; columns may come in any order; extra columns are ignored. The first
/// bad row stops the read, because a gate that silently drops rows would judge on a set nobody chose.
/// </summary>
public static class GoldenSetReader
{
    private const string MathScore = "math_score";

    private static readonly string[] Categorical = ["gender", "race_ethnicity", "parental_level_of_education", "lunch", "test_preparation_course"];

    private static readonly string[] Scores = [MathScore, "reading_score", "writing_score"];

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
        var fields = new List<string>(8);
        var line = 0;
        string? text;
        do
        {
            text = reader.ReadLine();
            line++;
        }
        while (text is not null && string.IsNullOrWhiteSpace(text));

        if (text is null)
        {
            throw new GoldenSetException($"'{source}' is empty: expected a header line");
        }

        if (Split(text, fields) is { } headerError)
        {
            throw new GoldenSetException($"'{source}' line {line}: bad header: {headerError}");
        }

        var columns = MapHeader(fields, source, line);
        var width = fields.Count;
        var rows = new List<GoldenRow>();
        while ((text = reader.ReadLine()) is not null)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            GoldenRow? row = null;
            var error = Split(text, fields) ?? ParseRow(fields, columns, width, line, out row);
            if (error is not null)
            {
                throw new GoldenSetException($"'{source}' line {line}: {error}");
            }

            rows.Add(row!);
        }

        return rows;
    }

    private static int[] MapHeader(List<string> header, string source, int line)
    {
        string[] required = [.. Categorical, .. Scores];
        var columns = new int[required.Length];
        Array.Fill(columns, -1);
        for (var i = 0; i < header.Count; i++)
        {
            var name = header[i].Trim().ToLowerInvariant().Replace(' ', '_').Replace('/', '_');
            var index = Array.IndexOf(required, name);
            if (index < 0)
            {
                continue;
            }

            if (columns[index] >= 0)
            {
                throw new GoldenSetException($"'{source}' line {line}: column '{header[i].Trim()}' appears twice in the header");
            }

            columns[index] = i;
        }

        var missing = required.Where((_, i) => columns[i] < 0).ToArray();
        return missing.Length == 0
            ? columns
            : throw new GoldenSetException($"'{source}' line {line}: the header lacks {string.Join(", ", missing)}");
    }

    private static string? ParseRow(List<string> fields, int[] columns, int width, int line, out GoldenRow? row)
    {
        row = null;
        if (fields.Count != width)
        {
            return string.Create(CultureInfo.InvariantCulture, $"expected {width} values like the header, found {fields.Count}");
        }

        var text = new string[Categorical.Length];
        for (var i = 0; i < text.Length; i++)
        {
            text[i] = fields[columns[i]].Trim();
            if (text[i].Length == 0)
            {
                return $"{Categorical[i]} is empty";
            }
        }

        var scores = new double[Scores.Length];
        for (var i = 0; i < scores.Length; i++)
        {
            var value = fields[columns[Categorical.Length + i]].Trim();
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out scores[i]) || !double.IsFinite(scores[i]))
            {
                return $"{Scores[i]} '{value}' is not a number";
            }

            if (scores[i] is < 0 or > 100)
            {
                return $"{Scores[i]} {value} is outside 0..100";
            }
        }

        var student = new Student
        {
            Gender = text[0],
            RaceEthnicity = text[1],
            ParentalLevelOfEducation = text[2],
            Lunch = text[3],
            TestPreparationCourse = text[4],
            ReadingScore = scores[1],
            WritingScore = scores[2],
        };
        row = new GoldenRow(line, student, scores[0]);
        return null;
    }

    /// <summary>Splits one line into fields (RFC 4180 quoting, no line breaks inside quotes). Returns an error or null.</summary>
    private static string? Split(string line, List<string> fields)
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
                for (i++; ; i++)
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
                            i++;
                            continue;
                        }

                        i++;
                        break;
                    }

                    value.Append(line[i]);
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
                for (; i < line.Length && line[i] != ','; i++)
                {
                    if (line[i] == '"')
                    {
                        return "quote inside an unquoted value";
                    }

                    value.Append(line[i]);
                }
            }

            fields.Add(value.ToString());
            if (i >= line.Length)
            {
                return null;
            }

            i++;
        }
    }
}
