using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Rollout;

public sealed record QuarantineEntry(string Digest, string Reason, DateTimeOffset Since, string RolloutId);

public sealed record RolloutRecord(
    string Id,
    string Digest,
    string Kind,
    RolloutOutcome Outcome,
    string Detail,
    DateTimeOffset StartedAt,
    TimeSpan Duration,
    TimeSpan? Downtime);

[JsonConverter(typeof(JsonStringEnumConverter<RolloutOutcome>))]
public enum RolloutOutcome
{
    /// <summary>The new digest serves.</summary>
    Succeeded,

    /// <summary>Refused before the swap (disk, pull or preflight); the live container was not touched.</summary>
    Refused,

    /// <summary>Failed after the swap and the previous container serves again.</summary>
    RolledBack,

    /// <summary>Failed and the previous container could not be brought back (or there was none).</summary>
    Failed,
}

/// <summary>What survives a restart of the deployer.</summary>
public sealed record DeployerState
{
    public IReadOnlyList<QuarantineEntry> Quarantined { get; init; } = [];

    public RolloutRecord? LastRollout { get; init; }

    /// <summary>Digests that passed the gate, newest first (for POST /rollback).</summary>
    public IReadOnlyList<string> GoodDigests { get; init; } = [];

    /// <summary>The blue/green rollout in progress, written before each step that moves traffic; null between rollouts.</summary>
    public SlotRollout? ActiveSlotRollout { get; init; }

    /// <summary>POST /pause: no new rollout starts until POST /resume, across restarts.</summary>
    public bool Paused { get; init; }
}

/// <summary>
/// What a blue/green rollout had done when it was last written: reconciliation reads it after a kill to switch back
/// to <see cref="Previous"/> or to finish retiring it.
/// </summary>
public sealed record SlotRollout(string RolloutId, string Digest, string Kind, string Candidate, string Previous, string Phase);

/// <summary>The phases of a blue/green rollout that reconciliation must know about.</summary>
public static class SlotPhases
{
    /// <summary>The candidate runs in the free slot; no client reaches it.</summary>
    public const string Candidate = "candidate";

    /// <summary>The edge is being switched, or was switched, to the candidate; the gate has not passed.</summary>
    public const string Gate = "gate";

    /// <summary>The gate passed; the old slot is kept running while the candidate bakes.</summary>
    public const string Bake = "bake";

    /// <summary>The bake passed; the old slot is being drained and removed.</summary>
    public const string Retire = "retire";
}

/// <summary>
/// Keeps <see cref="DeployerState"/> in <c>state.json</c> under the state directory, durably (<see cref="IStateFile"/>).
/// Changes go through named transitions. A write the disk refuses throws a <see cref="RolloutStepException"/> (not the
/// image's fault) and leaves the state as it was; an unreadable file at start falls back to the last good copy, or to
/// an empty state that reconciliation fills in again from the containers and the edge's file: the deployer always starts.
/// </summary>
internal sealed class StateStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly IStateFile _file;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private DeployerState _state;

    public StateStore(IOptions<DeployerOptions> options, ILogger<StateStore>? logger = null, IStateFile? file = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _file = file ?? new DurableStateFile(options.Value.StateDirectory);
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger<StateStore>.Instance;
        _state = Load();
        History = new RolloutHistory(options.Value.StateDirectory);
    }

    /// <summary>The recent rollouts with their steps (rollouts.json beside state.json).</summary>
    public RolloutHistory History { get; }

    /// <summary>True when neither the file nor its last good copy could be read at start: the state was rebuilt.</summary>
    public bool Rebuilt { get; private set; }

    public DeployerState Current
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Before a step of a blue/green rollout: the phase reconciliation must know about after a kill.</summary>
    public void BeginPhase(SlotRollout rollout) => Update(s => s with { ActiveSlotRollout = rollout });

    /// <summary>The blue/green rollout is over (finished, undone, or given up).</summary>
    public void EndRollout() => Update(s => s with { ActiveSlotRollout = null });

    /// <summary>
    /// The digest is good: first in the list for POST /rollback, out of quarantine, and the rollout is over. One
    /// write, so that a failure leaves either the rollout in progress or committed, never half of it.
    /// </summary>
    public void Commit(string digest) => Update(s => s with
    {
        GoodDigests = [digest, .. s.GoodDigests.Where(d => d != digest).Take(9)],
        Quarantined = [.. s.Quarantined.Where(q => q.Digest != digest)],
        ActiveSlotRollout = null,
    });

    public void Quarantine(QuarantineEntry entry) => Update(s => s with
    {
        Quarantined = [.. s.Quarantined.Where(q => q.Digest != entry.Digest), entry],
    });

    public void Finish(RolloutRecord record) => Update(s => s with { LastRollout = record });

    public void SetPaused(bool paused) => Update(s => s with { Paused = paused });

    public DeployerState Update(Func<DeployerState, DeployerState> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_gate)
        {
            var next = change(_state);
            if (!Equals(next, _state))
            {
                try
                {
                    _file.Write(JsonSerializer.Serialize(next, Json));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new RolloutStepException($"the state file {_file.Path} could not be written ({ex.Message}); the step did not happen", ex);
                }

                _state = next;
            }

            return _state;
        }
    }

    private DeployerState Load()
    {
        foreach (var (text, which) in new[] { (Read(_file.ReadCurrent), "the state file"), (Read(_file.ReadBackup), "its last good copy") })
        {
            if (text is null)
            {
                continue;
            }

            try
            {
                if (JsonSerializer.Deserialize<DeployerState>(text, Json) is { } state)
                {
                    return state;
                }
            }
            catch (JsonException ex)
            {
                Log.StateUnreadable(_logger, which, _file.Path, ex.Message);
                continue;
            }

            Log.StateUnreadable(_logger, which, _file.Path, "empty");
        }

        if (_file.ReadCurrent() is not null || _file.ReadBackup() is not null)
        {
            // Something was there and none of it could be read: start empty; reconciliation finds the live slot.
            Rebuilt = true;
            Log.StateRebuilt(_logger, _file.Path);
        }

        return new DeployerState();
    }

    private string? Read(Func<string?> read)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.StateUnreadable(_logger, "a copy of the state", _file.Path, ex.Message);
            return null;
        }
    }
}

/// <summary>Where <see cref="StateStore"/> keeps its text: the file, and the last good copy beside it.</summary>
internal interface IStateFile
{
    string Path { get; }

    /// <summary>The file's text, or null when there is none.</summary>
    string? ReadCurrent();

    /// <summary>The last good copy's text, or null when there is none.</summary>
    string? ReadBackup();

    /// <summary>Replaces the file durably; throws <see cref="IOException"/> when the disk refuses.</summary>
    void Write(string content);
}

/// <summary>
/// <c>state.json</c>, written to a temporary file, fsynced, renamed into place and the folder fsynced, so that a
/// power cut leaves the old file or the new one; then the same text goes to <c>state.json.bak</c> the same way, the
/// last good copy that a damaged file falls back to.
/// </summary>
internal sealed partial class DurableStateFile : IStateFile
{
    private readonly string _directory;

    public DurableStateFile(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        Path = System.IO.Path.Combine(directory, "state.json");
    }

    public string Path { get; }

    private string BackupPath => Path + ".bak";

    public string? ReadCurrent() => File.Exists(Path) ? File.ReadAllText(Path) : null;

    public string? ReadBackup() => File.Exists(BackupPath) ? File.ReadAllText(BackupPath) : null;

    public void Write(string content)
    {
        Replace(Path, content);
        Replace(BackupPath, content);
    }

    private void Replace(string path, string content)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(content));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        SyncDirectory(_directory);
    }

    /// <summary>fsync of the folder makes the rename itself durable (POSIX); .NET has no API for it.</summary>
    private static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var fd = Native.Open(directory, 0);
        if (fd < 0)
        {
            throw new IOException($"cannot open {directory} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Native.Fsync(fd) != 0)
            {
                throw new IOException($"fsync of {directory} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Native.Close(fd);
        }
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static partial int Fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        public static partial int Close(int fd);
    }
}
