using System.Globalization;

namespace StudentPerformance.Bench.Cli;

/// <summary>A usage error: the message names the option.</summary>
internal sealed class UsageException(string message) : Exception(message)
{
    public UsageException() : this("usage error") { }

    public UsageException(string message, Exception inner) : this(message) => _ = inner;
}

/// <summary>
/// A mode's options, as text, converted where the mode reads them (errors name the option). System.CommandLine has
/// already refused options the mode does not declare; <see cref="ThrowOnUnknown"/> also catches an option that a
/// mode declares but never reads, so a declared option cannot silently do nothing.
/// </summary>
internal sealed class Options
{
    private readonly List<(string Name, string? Value)> _items = [];
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    /// <summary>The options as parsed by <see cref="BenchCommandLine"/>: a name without "--", and its value (null for a flag).</summary>
    public Options(IEnumerable<(string Name, string? Value)> items) => _items.AddRange(items);

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

    public double Double(string name, double defaultValue, double min, double max)
    {
        var s = StringOrNull(name);
        if (s is null)
        {
            return defaultValue;
        }

        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
        {
            throw new UsageException($"--{name} must be a number in {min.ToString(CultureInfo.InvariantCulture)}..{max.ToString(CultureInfo.InvariantCulture)}, got '{s}'");
        }

        return v;
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
