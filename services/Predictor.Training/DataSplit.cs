using System.Globalization;

namespace StudentPerformance.Predictor.Training;

/// <summary>Seeded, reproducible splits: the holdout set and the cross-validation folds.</summary>
public static class DataSplit
{
    /// <summary>0..count-1 in a seeded Fisher–Yates order (System.Random with a seed is stable across .NET versions).</summary>
    public static int[] Shuffle(int count, int seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        var random = new Random(seed);
        for (var i = count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    /// <summary>The data-row numbers held out for testing: the first <paramref name="fraction"/> of a seeded shuffle.</summary>
    public static HashSet<int> RandomHoldout(int dataRows, double fraction, int seed)
    {
        var take = (int)Math.Round(dataRows * fraction, MidpointRounding.AwayFromZero);
        return [.. Shuffle(dataRows, seed).Take(take)];
    }

    /// <summary>Fold number (0..k-1) of each of <paramref name="count"/> items, balanced, by seeded shuffle.</summary>
    public static int[] Folds(int count, int k, int seed)
    {
        var fold = new int[count];
        var order = Shuffle(count, seed);
        for (var position = 0; position < count; position++)
        {
            fold[order[position]] = position % k;
        }

        return fold;
    }

    /// <summary>Reads a file of 0-based data-row numbers, one per line (blank lines ignored).</summary>
    /// <exception cref="FormatException">A line is not a non-negative integer; the message names the line.</exception>
    public static HashSet<int> ReadRowNumbers(string path)
    {
        var rows = new HashSet<int>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            var text = line.Trim();
            if (text.Length == 0)
            {
                continue;
            }

            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var row))
            {
                throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{path} line {lineNumber}: '{text}' is not a row number"));
            }

            rows.Add(row);
        }

        return rows;
    }
}
