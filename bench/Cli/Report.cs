using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using StudentPerformance.Bench.Load;

namespace StudentPerformance.Bench.Cli;

/// <summary>Prints summaries as a human table, and a result as the one JSON line that scripts read.</summary>
internal static class Report
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Table(IEnumerable<Summary> rows)
    {
        var list = rows.ToList();
        var showRows = list.Any(r => r.RowsPerSecond is not null);
        var header = new List<string> { "run", "conns", "in-flight", "ok", "errors", "req/s" };
        if (showRows)
        {
            header.Add("rows/s");
        }

        header.AddRange(["p50 us", "p90 us", "p99 us", "max us", "srv cores", "srv us/call", "srv RSS MB", "client cores", "client us/call", "machine %"]);
        var cells = list.Select(r =>
        {
            var c = new List<string>
            {
                r.Name, F(r.Connections), F(r.Connections * r.PerConnection), F(r.Ok),
                r.Errors == 0 ? "0" : string.Join(' ', r.ErrorsByStatus.Select(e => $"{e.Key}:{e.Value}")),
                F(r.RequestsPerSecond),
            };
            if (showRows)
            {
                c.Add(r.RowsPerSecond is { } rows ? F(rows) : "");
            }

            c.AddRange([F(r.P50Us), F(r.P90Us), F(r.P99Us), F(r.MaxUs), F(r.ServerCpuCores), F(r.ServerCpuUsPerCall),
                F(r.ServerRssMb), F(r.ClientCpuCores), F(r.ClientCpuUsPerCall), F(r.MachineBusyPercent)]);
            return c;
        }).ToList();
        Print(header, cells);
    }

    public static void Print(IReadOnlyList<string> header, IReadOnlyList<List<string>> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max())).ToList();
        Console.WriteLine(string.Join("  ", header.Select((h, i) => h.PadLeft(widths[i]))));
        foreach (var r in rows)
        {
            Console.WriteLine(string.Join("  ", r.Select((c, i) => c.PadLeft(widths[i]))));
        }
    }

    /// <summary>
    /// Writes the result as one JSON line, with the 1-minute load average appended: on a shared 2-core machine a
    /// figure means little without it.
    /// </summary>
    public static void JsonLine(object result)
    {
        var json = JsonSerializer.Serialize(result, result.GetType(), Json);
        Console.WriteLine(json[..^1] + $",\"load_average_1m\":{LoadAverage()}}}");
    }

    public static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "null";
        }
    }

    public static string F(double? v) => v switch
    {
        null => "-",
        >= 1000 => v.Value.ToString("N0", CultureInfo.InvariantCulture),
        _ => v.Value.ToString("0.##", CultureInfo.InvariantCulture),
    };

    public static string Now() => TimeProvider.System.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
