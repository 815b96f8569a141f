using System.Globalization;

namespace StudentPerformance.Bench.Cli;

/// <summary>A usage error: the message names the option.</summary>
internal sealed class UsageException(string message) : Exception(message)
{
    public UsageException() : this("usage error") { }

    public UsageException(string message, Exception inner) : this(message) => _ = inner;
}

/// <summary>
/// <c>--name value</c> and <c>--flag</c> options. Every option a mode reads is marked as known, and
/// <see cref="ThrowOnUnknown"/> rejects the rest so that a typo never runs a benchmark with a default.
/// </summary>
internal sealed class Options
{
    private readonly List<(string Name, string? Value)> _items = [];
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public Options(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"unexpected argument '{a}'");
            }

            var eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                _items.Add((a[2..eq], a[(eq + 1)..]));
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                _items.Add((a[2..], args[++i]));
            }
            else
            {
                _items.Add((a[2..], null));
            }
        }
    }

    public bool Flag(string name)
    {
        _known.Add(name);
        return _items.Any(i => i.Name == name);
    }

    public string String(string name, string defaultValue) => StringOrNull(name) ?? defaultValue;

    public string? StringOrNull(string name)
    {
        _known.Add(name);
        var found = _items.LastOrDefault(i => i.Name == name);
        if (found.Name is not null && found.Value is null)
        {
            throw new UsageException($"--{name} needs a value");
        }

        return found.Value;
    }

    public IReadOnlyList<string> All(string name)
    {
        _known.Add(name);
        return [.. _items.Where(i => i.Name == name).Select(i => i.Value ?? throw new UsageException($"--{name} needs a value"))];
    }

    public int Int(string name, int defaultValue, int min = 0, int max = int.MaxValue)
    {
        var s = StringOrNull(name);
        if (s is null)
        {
            return defaultValue;
        }

        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            throw new UsageException($"--{name} must be an integer in {min}..{max}, got '{s}'");
        }

        return v;
    }

    public IReadOnlyList<int> Ints(string name, IReadOnlyList<int> defaultValue)
    {
        var s = StringOrNull(name);
        if (s is null)
        {
            return defaultValue;
        }

        try
        {
            return [.. s.Split(',').Select(p => int.Parse(p, NumberStyles.Integer, CultureInfo.InvariantCulture))];
        }
        catch (FormatException)
        {
            throw new UsageException($"--{name} must be a comma-separated list of integers, got '{s}'");
        }
    }

    /// <summary>Seconds, fractional allowed (<c>--duration 10</c>, <c>--warmup 0.5</c>).</summary>
    public TimeSpan Seconds(string name, double defaultSeconds, double maxSeconds = 3600)
    {
        var s = StringOrNull(name);
        if (s is null)
        {
            return TimeSpan.FromSeconds(defaultSeconds);
        }

        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < 0 || v > maxSeconds)
        {
            throw new UsageException($"--{name} must be seconds in 0..{maxSeconds}, got '{s}'");
        }

        return TimeSpan.FromSeconds(v);
    }

    /// <summary>Checks for unknown options before anything slow starts; <paramref name="later"/> are read afterwards.</summary>
    public void ThrowOnUnknownExcept(params IEnumerable<string>[] later)
    {
        foreach (var names in later)
        {
            _known.UnionWith(names);
        }

        ThrowOnUnknown();
    }

    public void ThrowOnUnknown()
    {
        var unknown = _items.Select(i => i.Name).Where(n => !_known.Contains(n)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException($"unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}");
        }
    }
}
