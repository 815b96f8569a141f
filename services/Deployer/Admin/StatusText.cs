using System.Globalization;
using System.Text;
using System.Text.Json;

namespace StudentPerformance.Deployer.Admin;

/// <summary>
/// GET /status as terminal text, for <c>Deployer status</c>. Reads the document loosely (a field that is missing reads
/// as "—"), so a client of one version can read a deployer of another.
/// </summary>
public static class StatusText
{
    private const string None = "—";

    public static string Summary(JsonElement status)
    {
        var text = new StringBuilder();
        var live = Obj(status, "live");
        Line(text, "Deployer", $"{Str(status, "trackedImage")}  {Str(status, "strategy")}  {Str(status, "mode")}{(Bool(status, "paused") ? " (paused)" : "")}");
        Line(text, "Live", live is { } l
            ? $"{(Str(l, "slot") is { } liveSlot ? "slot " + liveSlot + "  " : "")}model {Str(l, "modelVersion") ?? None}  {Short(Str(l, "digest"))}  since {When(Str(l, "since"))}"
            : None);
        Line(text, "Registry", $"{Short(Str(status, "registryDigest"))}  checked {When(Str(status, "lastCheck"))}: {Str(status, "lastCheckResult") ?? None}");
        if (ActiveRollout(status) is { } active)
        {
            var step = active.GetProperty("steps").EnumerateArray().LastOrDefault(s => Str(s, "outcome") == "Running");
            var phase = step.ValueKind == JsonValueKind.Object ? Str(step, "name") : Str(status, "rolloutPhase") ?? "starting";
            var slot = Str(status, "candidateSlot") is { } candidate ? $" in slot {candidate}" : "";
            Line(text, "Candidate", $"{Short(Str(active, "digest"))}{slot}: {phase} ({Str(active, "kind")}, started {When(Str(active, "startedAt"))})");
        }
        else
        {
            Line(text, "Candidate", "none");
        }

        Line(text, "Gate", Gate(Obj(status, "qualityGate")));
        if (Obj(status, "edge") is { } edge)
        {
            var servers = edge.GetProperty("servers").EnumerateArray()
                .Select(s => $"{Str(s, "backend")}/{Str(s, "slot")} {Str(s, "status")} ({Num(s, "currentSessions")})");
            Line(text, "Edge", (Bool(edge, "reachable") ? "reachable" : "UNREACHABLE") + "  " + string.Join("  ", servers));
        }

        var warnings = Array(status, "warnings").ToList();
        Line(text, "Warnings", warnings.Count == 0 ? "none" : "");
        foreach (var warning in warnings)
        {
            text.Append("  ! ").Append(Str(warning, "kind")).Append(": ").AppendLine(Str(warning, "message"));
        }

        var history = History(status).Take(5).ToList();
        Line(text, "Rollouts", history.Count == 0 ? "none yet" : "");
        foreach (var entry in history)
        {
            var outcome = Str(entry, "outcome") ?? (Bool(entry, "interrupted") ? "Interrupted" : "Running");
            text.Append(CultureInfo.InvariantCulture, $"  {When(Str(entry, "startedAt"))}  {outcome,-11} {Str(entry, "kind"),-10} {Short(Str(entry, "digest"))}  {Duration(Str(entry, "duration"))}")
                .AppendLine();
            var steps = entry.GetProperty("steps").EnumerateArray().Select(s =>
                $"{Str(s, "name")} {(Str(s, "outcome") == "Running" ? "…" : Duration(Str(s, "duration")))}{(Str(s, "outcome") == "Failed" ? " ✗" : "")}");
            text.Append("      ").AppendLine(string.Join(" → ", steps));
            if (Str(entry, "detail") is { } detail)
            {
                text.Append("      ").AppendLine(detail);
            }
        }

        return text.ToString();
    }

    /// <summary>The line <c>--watch</c> ends with.</summary>
    public static string Finished(JsonElement entry, JsonElement status)
    {
        var line = $"rollout {Str(entry, "id")} {Str(entry, "outcome")} in {Duration(Str(entry, "duration"))}: {Str(entry, "detail")}";
        return Obj(status, "qualityGate") is { } gate && Str(gate, "rolloutId") == Str(entry, "id")
            ? line + Environment.NewLine + "quality gate: " + Gate(gate)
            : line;
    }

    /// <summary>The rollout in progress (the newest history entry, unfinished and not interrupted), or null.</summary>
    public static JsonElement? ActiveRollout(JsonElement status)
    {
        var newest = History(status).FirstOrDefault();
        return newest.ValueKind == JsonValueKind.Object && Str(newest, "outcome") is null && !Bool(newest, "interrupted") ? newest : null;
    }

    public static JsonElement? Entry(JsonElement status, string id)
    {
        var entry = History(status).FirstOrDefault(e => Str(e, "id") == id);
        return entry.ValueKind == JsonValueKind.Object ? entry : null;
    }

    public static IEnumerable<JsonElement> History(JsonElement status) => Array(status, "history");

    public static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText()
            : null;

    public static bool Bool(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    /// <summary>A .NET TimeSpan as JSON ("00:01:02.5") in a short human form.</summary>
    public static string Duration(string? span)
    {
        if (span is null || !TimeSpan.TryParse(span, CultureInfo.InvariantCulture, out var value))
        {
            return None;
        }

        return value.TotalSeconds switch
        {
            < 10 => value.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s",
            < 120 => value.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s",
            _ => $"{(int)value.TotalMinutes} min {value.Seconds} s",
        };
    }

    private static string Gate(JsonElement? report)
    {
        if (report is not { } gate)
        {
            return "no report yet";
        }

        var candidate = Obj(gate, "candidate") is { } c ? $"candidate {Str(c, "modelVersion")} RMSE {Num(c, "rmse")}" : "no candidate figures";
        var live = Obj(gate, "live") is { } l ? $"live {Str(l, "modelVersion")} RMSE {Num(l, "rmse")}" : Str(gate, "liveNote") ?? "";
        var refusals = Array(gate, "refusals").Select(r => r.GetString()).ToList();
        return $"{Str(gate, "result")}  {candidate}  {live}  ({Str(gate, "rows")} rows)" + (refusals.Count > 0 ? ": " + string.Join("; ", refusals) : "");
    }

    private static void Line(StringBuilder text, string label, string value) =>
        text.Append(CultureInfo.InvariantCulture, $"{label,-10}").AppendLine(value);

    private static JsonElement? Obj(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    private static JsonElement[] Array(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray()] : [];

    private static string Num(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            ? value.GetDouble().ToString(value.GetDouble() == Math.Floor(value.GetDouble()) ? "0" : "0.000", CultureInfo.InvariantCulture)
            : None;

    private static string Short(string? digest) => digest is null ? None : digest.StartsWith("sha256:", StringComparison.Ordinal) && digest.Length > 19 ? digest[..19] : digest;

    private static string When(string? iso) =>
        iso is not null && DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : None;
}
