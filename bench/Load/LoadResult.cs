using Grpc.Core;

namespace StudentPerformance.Bench.Load;

/// <summary>What one closed-loop run measured, and the figures derived from it.</summary>
internal sealed record LoadResult(
    LoadSettings Settings,
    LatencyHistogram Latency,
    IReadOnlyDictionary<StatusCode, long> Errors,
    Snapshot Start,
    Snapshot End,
    IReadOnlyList<TimelinePoint> Timeline)
{
    public double Seconds => (End.Timestamp - Start.Timestamp) / (double)TimeProvider.System.TimestampFrequency;

    public long Ok => Latency.Count;

    public long Failed => Errors.Values.Sum();

    public double RequestsPerSecond => Ok / Seconds;

    /// <summary>
    /// Several runs against one server as one: latencies merged, time, CPU and counts summed, memory from the last.
    /// Alternating short rounds of two servers keeps a shift in the machine's background load from favouring one.
    /// </summary>
    public static LoadResult Merge(IReadOnlyList<LoadResult> runs)
    {
        if (runs.Count == 1)
        {
            return runs[0];
        }

        var histogram = new LatencyHistogram();
        var errors = new Dictionary<StatusCode, long>();
        long ticks = 0, busy = 0, total = 0;
        double serverCpu = 0, clientCpu = 0;
        var hasServer = true;
        foreach (var r in runs)
        {
            histogram.Add(r.Latency);
            foreach (var (code, n) in r.Errors)
            {
                errors[code] = errors.GetValueOrDefault(code) + n;
            }

            ticks += r.End.Timestamp - r.Start.Timestamp;
            busy += r.End.MachineBusy - r.Start.MachineBusy;
            total += r.End.MachineTotal - r.Start.MachineTotal;
            clientCpu += r.End.ClientCpuSeconds - r.Start.ClientCpuSeconds;
            if (r.Start.Server is { } s0 && r.End.Server is { } s1)
            {
                serverCpu += s1.CpuSeconds - s0.CpuSeconds;
            }
            else
            {
                hasServer = false;
            }
        }

        var last = runs[^1].End.Server;
        var start = new Snapshot(0, hasServer ? new ProcessSample(0, 0, 0) : null, 0, 0, 0);
        var end = new Snapshot(ticks, hasServer && last is { } l ? l with { CpuSeconds = serverCpu } : null, clientCpu, busy, total);
        return new LoadResult(runs[0].Settings, histogram, errors, start, end, [.. runs.SelectMany(r => r.Timeline)]);
    }

    public static double Micros(long nanoseconds) => Math.Round(nanoseconds / 1000.0, 1);

    public Summary Summarize(string name, int rowsPerCall = 1)
    {
        double? serverCores = null, serverCpuUsPerCall = null;
        long? rss = null, peak = null;
        if (Start.Server is { } s0 && End.Server is { } s1)
        {
            serverCores = Math.Round((s1.CpuSeconds - s0.CpuSeconds) / Seconds, 2);
            serverCpuUsPerCall = Ok > 0 ? Math.Round((s1.CpuSeconds - s0.CpuSeconds) * 1e6 / Ok, 1) : null;
            rss = s1.RssBytes;
            peak = s1.PeakRssBytes;
        }

        var machineBusy = End.MachineTotal > Start.MachineTotal
            ? Math.Round(100.0 * (End.MachineBusy - Start.MachineBusy) / (End.MachineTotal - Start.MachineTotal), 1)
            : 0;
        return new Summary(
            name,
            Settings.Connections,
            Settings.PerConnection,
            Math.Round(Seconds, 2),
            Ok,
            Failed,
            Errors.ToDictionary(e => e.Key.ToString(), e => e.Value),
            Math.Round(RequestsPerSecond, 0),
            rowsPerCall > 1 ? Math.Round(RequestsPerSecond * rowsPerCall, 0) : null,
            Micros(Latency.Percentile(50)),
            Micros(Latency.Percentile(90)),
            Micros(Latency.Percentile(99)),
            Micros(Latency.MaxNanoseconds),
            serverCores,
            serverCpuUsPerCall,
            rss is null ? null : Math.Round(rss.Value / 1048576.0, 1),
            peak is null ? null : Math.Round(peak.Value / 1048576.0, 1),
            Math.Round((End.ClientCpuSeconds - Start.ClientCpuSeconds) / Seconds, 2),
            Ok > 0 ? Math.Round((End.ClientCpuSeconds - Start.ClientCpuSeconds) * 1e6 / Ok, 1) : null,
            machineBusy);
    }
}

/// <summary>One row of the report; also its JSON shape (snake_case).</summary>
internal sealed record Summary(
    string Name,
    int Connections,
    int PerConnection,
    double Seconds,
    long Ok,
    long Errors,
    Dictionary<string, long> ErrorsByStatus,
    double RequestsPerSecond,
    double? RowsPerSecond,
    double P50Us,
    double P90Us,
    double P99Us,
    double MaxUs,
    double? ServerCpuCores,
    double? ServerCpuUsPerCall,
    double? ServerRssMb,
    double? ServerPeakRssMb,
    double ClientCpuCores,
    double? ClientCpuUsPerCall,
    double MachineBusyPercent);
