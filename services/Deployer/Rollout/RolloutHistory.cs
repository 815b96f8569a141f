using System.Text.Json;
using System.Text.Json.Serialization;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>One step of a rollout as the dashboard and <c>Deployer status</c> show it; <see cref="Duration"/> is null while it runs.</summary>
public sealed record RolloutStepRecord(string Name, DateTimeOffset StartedAt, TimeSpan? Duration, StepOutcome Outcome, string? Error);

[JsonConverter(typeof(JsonStringEnumConverter<StepOutcome>))]
public enum StepOutcome
{
    Running,
    Passed,
    Failed,
}

/// <summary>
/// A rollout with its steps: <see cref="Outcome"/> is null while it runs, or when the deployer stopped during it
/// (<see cref="Interrupted"/>; reconciliation then starts a rollout of its own). The record the rollout ends with
/// (<see cref="RolloutRecord"/>) says how it ended; this says how it got there.
/// </summary>
public sealed record RolloutHistoryEntry(
    string Id,
    string Digest,
    string Kind,
    DateTimeOffset StartedAt,
    IReadOnlyList<RolloutStepRecord> Steps,
    RolloutOutcome? Outcome = null,
    string? Detail = null,
    TimeSpan? Duration = null,
    TimeSpan? Downtime = null,
    bool Interrupted = false)
{
    /// <summary>When the rollout ended; null while it runs.</summary>
    public DateTimeOffset? FinishedAt => Duration is { } duration ? StartedAt + duration : null;
}

/// <summary>
/// The last <see cref="Capacity"/> rollouts, newest first, each with its steps, kept in <c>rollouts.json</c> beside
/// <c>state.json</c> so the dashboard still shows them after a restart. Written after every step; a failed write is
/// kept in memory and retried at the next step, because losing the picture must never fail a rollout.
/// </summary>
public sealed class RolloutHistory
{
    public const int Capacity = 20;
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly string? _path;
    private readonly Lock _gate = new();
    private IReadOnlyList<RolloutHistoryEntry> _entries;

    /// <summary>A history kept in <paramref name="directory"/>/rollouts.json, or only in memory when null.</summary>
    public RolloutHistory(string? directory)
    {
        _path = directory is null ? null : Path.Combine(directory, "rollouts.json");
        _entries = _path is null ? [] : Load(_path);
    }

    /// <summary>Newest first; the first may still run.</summary>
    public IReadOnlyList<RolloutHistoryEntry> Entries
    {
        get
        {
            lock (_gate)
            {
                return _entries;
            }
        }
    }

    /// <summary>The last write that failed, or null; shown by /status as a warning.</summary>
    public string? WriteError { get; private set; }

    public void Begin(string id, string digest, string kind, DateTimeOffset startedAt) =>
        Change(entries => [new RolloutHistoryEntry(id, digest, kind, startedAt, []), .. entries.Where(e => e.Id != id)]);

    public void StepStarted(string id, string step, DateTimeOffset at) =>
        Change(id, e => e with { Steps = [.. e.Steps, new RolloutStepRecord(step, at, null, StepOutcome.Running, null)] });

    public void StepEnded(string id, string step, TimeSpan duration, string? error) =>
        Change(id, e =>
        {
            var index = LastIndexOf(e.Steps, step);
            if (index < 0)
            {
                return e;
            }

            var steps = e.Steps.ToList();
            steps[index] = steps[index] with { Duration = duration, Outcome = error is null ? StepOutcome.Passed : StepOutcome.Failed, Error = error };
            return e with { Steps = steps };
        });

    public void Finished(RolloutRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Change(entries =>
        {
            var known = entries.FirstOrDefault(e => e.Id == record.Id) ?? new RolloutHistoryEntry(record.Id, record.Digest, record.Kind, record.StartedAt, []);
            var done = known with { Outcome = record.Outcome, Detail = record.Detail, Duration = record.Duration, Downtime = record.Downtime };
            return [done, .. entries.Where(e => e.Id != record.Id)];
        });
    }

    private static int LastIndexOf(IReadOnlyList<RolloutStepRecord> steps, string step)
    {
        for (var i = steps.Count - 1; i >= 0; i--)
        {
            if (steps[i].Name == step && steps[i].Outcome == StepOutcome.Running)
            {
                return i;
            }
        }

        return -1;
    }

    private void Change(string id, Func<RolloutHistoryEntry, RolloutHistoryEntry> change) =>
        Change(entries => [.. entries.Select(e => e.Id == id ? change(e) : e)]);

    private void Change(Func<IReadOnlyList<RolloutHistoryEntry>, IReadOnlyList<RolloutHistoryEntry>> change)
    {
        lock (_gate)
        {
            _entries = [.. change(_entries).Take(Capacity)];
            if (_path is null)
            {
                return;
            }

            try
            {
                var temp = _path + ".tmp";
                File.WriteAllText(temp, JsonSerializer.Serialize(_entries, Json));
                File.Move(temp, _path, overwrite: true);
                WriteError = null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                WriteError = $"{_path}: {ex.Message}";
            }
        }
    }

    /// <summary>A rollout found unfinished at start: the process that ran it is gone.</summary>
    private static RolloutHistoryEntry Interrupt(RolloutHistoryEntry entry) => entry with
    {
        Interrupted = true,
        Detail = "interrupted: the deployer stopped during this rollout",
        Steps = [.. entry.Steps.Select(s => s.Outcome == StepOutcome.Running ? s with { Outcome = StepOutcome.Failed, Error = "interrupted" } : s)],
    };

    private static IReadOnlyList<RolloutHistoryEntry> Load(string path)
    {
        try
        {
            var entries = File.Exists(path) ? JsonSerializer.Deserialize<List<RolloutHistoryEntry>>(File.ReadAllText(path), Json) ?? [] : [];
            return [.. entries.Select(e => e.Outcome is null ? Interrupt(e) : e)];
        }
        catch (JsonException)
        {
            // Only a picture of the past: a damaged file starts a new history instead of stopping the deployer.
            return [];
        }
    }
}
