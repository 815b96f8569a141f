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
/// Keeps <see cref="DeployerState"/> in <c>state.json</c> under the state directory. Writes go to a temporary
/// file first and are renamed into place, so a kill never leaves half a file.
/// </summary>
internal sealed class StateStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly string _path;
    private readonly Lock _gate = new();
    private DeployerState _state;

    public StateStore(IOptions<DeployerOptions> options)
    {
        Directory.CreateDirectory(options.Value.StateDirectory);
        _path = Path.Combine(options.Value.StateDirectory, "state.json");
        _state = Load(_path);
        History = new RolloutHistory(options.Value.StateDirectory);
    }

    /// <summary>The recent rollouts with their steps (rollouts.json beside state.json).</summary>
    public RolloutHistory History { get; }

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

    public DeployerState Update(Func<DeployerState, DeployerState> change)
    {
        lock (_gate)
        {
            var next = change(_state);
            if (!Equals(next, _state))
            {
                var temp = _path + ".tmp";
                File.WriteAllText(temp, JsonSerializer.Serialize(next, Json));
                File.Move(temp, _path, overwrite: true);
                _state = next;
            }

            return _state;
        }
    }

    private static DeployerState Load(string path)
    {
        if (!File.Exists(path))
        {
            return new DeployerState();
        }

        try
        {
            return JsonSerializer.Deserialize<DeployerState>(File.ReadAllText(path), Json) ?? new DeployerState();
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"The state file {path} is not valid JSON ({ex.Message}); fix or delete it.", ex);
        }
    }
}
