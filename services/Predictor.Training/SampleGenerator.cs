using System.Globalization;
using System.Text;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Training;

/// <summary>
/// Makes realistic student rows so a fresh clone can train its default model without the public dataset.
/// </summary>
/// <remarks>
/// Categories follow the dataset's frequencies exactly (largest-remainder counts, shuffled per column). The
/// three scores are a linear model of the categories plus correlated Gaussian noise; the effects and the
/// residual covariance were fitted once, by least squares, on data/reference/stud.csv, and only those
/// statistics live here. Everything is plain arithmetic on a seeded System.Random (noise is Irwin–Hall: the sum
/// of twelve uniforms), so a seed gives the same file on every platform.
/// </remarks>
public static class SampleGenerator
{
    public const int DefaultRows = 1000;
    public const int DefaultSeed = 42;

    private sealed record Column(string Name, string[] Values, int[] Counts, double[] Math, double[] Reading, double[] Writing);

    // Counts per 1000 rows as in data/reference/README.md; effects are relative to the first value of each column.
    private static readonly Column[] Columns =
    [
        new(StudentColumns.Gender, ["female", "male"], [518, 482], [0, 4.995], [0, -7.071], [0, -9.096]),
        new(
            StudentColumns.RaceEthnicity,
            ["group A", "group B", "group C", "group D", "group E"],
            [89, 190, 319, 262, 140],
            [0, 2.041, 2.470, 5.341, 10.135],
            [0, 1.326, 2.274, 4.106, 5.514],
            [0, 1.220, 2.413, 5.931, 5.137]),
        new(
            StudentColumns.ParentalLevelOfEducation,
            ["some high school", "high school", "some college", "associate's degree", "bachelor's degree", "master's degree"],
            [179, 196, 226, 222, 118, 59],
            [0, -0.554, 3.666, 4.249, 6.215, 7.137],
            [0, -0.851, 2.770, 4.049, 6.205, 8.254],
            [0, -0.492, 4.402, 5.322, 8.807, 10.505]),
        new(StudentColumns.Lunch, ["free/reduced", "standard"], [355, 645], [0, 10.877], [0, 7.246], [0, 8.203]),
        new(StudentColumns.TestPreparationCourse, ["none", "completed"], [642, 358], [0, 5.495], [0, 7.362], [0, 10.059]),
    ];

    // Scores of a student in the first value of every column (math, reading, writing).
    private static readonly double[] Intercept = [47.887, 59.866, 56.533];

    // Residual covariance of (math, reading, writing) after the category effects.
    private static readonly double[,] ResidualCovariance =
    {
        { 173.424, 151.220, 149.500 },
        { 151.220, 166.719, 152.926 },
        { 149.500, 152.926, 155.654 },
    };

    /// <summary>Generates <paramref name="rows"/> labelled students from <paramref name="seed"/>.</summary>
    public static IReadOnlyList<(StudentFeatures Features, int MathScore)> Generate(int rows, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        var random = new Random(seed);
        var categories = Columns.Select(c => ShuffledCategories(c, rows, random)).ToArray();
        var cholesky = Cholesky(ResidualCovariance);
        var result = new List<(StudentFeatures, int)>(rows);
        Span<double> noise = stackalloc double[3];
        Span<double> score = stackalloc double[3];
        for (var r = 0; r < rows; r++)
        {
            for (var i = 0; i < 3; i++)
            {
                noise[i] = StandardNormal(random);
            }

            for (var s = 0; s < 3; s++)
            {
                score[s] = Intercept[s];
                for (var k = 0; k <= s; k++)
                {
                    score[s] += cholesky[s, k] * noise[k];
                }
            }

            for (var c = 0; c < Columns.Length; c++)
            {
                var v = categories[c][r];
                score[0] += Columns[c].Math[v];
                score[1] += Columns[c].Reading[v];
                score[2] += Columns[c].Writing[v];
            }

            var features = new StudentFeatures(
                Columns[0].Values[categories[0][r]],
                Columns[1].Values[categories[1][r]],
                Columns[2].Values[categories[2][r]],
                Columns[3].Values[categories[3][r]],
                Columns[4].Values[categories[4][r]],
                ReadingScore: Whole(score[1]),
                WritingScore: Whole(score[2]));
            result.Add((features, Whole(score[0])));
        }

        return result;
    }

    /// <summary>The generated rows as CSV text with the snake_case header (LF line ends, unquoted values).</summary>
    public static string ToCsv(IReadOnlyList<(StudentFeatures Features, int MathScore)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var text = new StringBuilder(StudentCsv.SnakeCaseHeader).Append('\n');
        foreach (var (f, math) in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{f.Gender},{f.RaceEthnicity},{f.ParentalLevelOfEducation},{f.Lunch},{f.TestPreparationCourse},{math},{f.ReadingScore},{f.WritingScore}\n");
        }

        return text.ToString();
    }

    private static int Whole(double score) =>
        (int)Math.Clamp(Math.Round(score, MidpointRounding.AwayFromZero), StudentColumns.ScoreMin, StudentColumns.ScoreMax);

    /// <summary>Exactly the dataset's share of each value (largest remainder), in a seeded random order.</summary>
    private static int[] ShuffledCategories(Column column, int rows, Random random)
    {
        var total = column.Counts.Sum();
        var counts = column.Counts.Select(c => (long)c * rows / total).Select(c => (int)c).ToArray();
        var byRemainder = Enumerable.Range(0, counts.Length)
            .OrderByDescending(i => (long)column.Counts[i] * rows % total)
            .ThenBy(i => i)
            .ToArray();
        for (var i = 0; counts.Sum() < rows; i++)
        {
            counts[byRemainder[i % byRemainder.Length]]++;
        }

        var values = counts.SelectMany((count, value) => Enumerable.Repeat(value, count)).ToArray();
        for (var i = values.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }

        return values;
    }

    // Irwin–Hall: mean 0, variance 1, only additions, so identical on every platform.
    private static double StandardNormal(Random random)
    {
        var sum = 0.0;
        for (var i = 0; i < 12; i++)
        {
            sum += random.NextDouble();
        }

        return sum - 6;
    }

    private static double[,] Cholesky(double[,] a)
    {
        var n = a.GetLength(0);
        var l = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[i, j];
                for (var k = 0; k < j; k++)
                {
                    sum -= l[i, k] * l[j, k];
                }

                l[i, j] = i == j ? Math.Sqrt(sum) : sum / l[j, j];
            }
        }

        return l;
    }
}
