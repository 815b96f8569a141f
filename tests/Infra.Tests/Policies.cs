using System.Text.Json;

namespace StudentPerformance.Infra.Tests;

/// <summary>Reads IAM statements out of a synthesized template.</summary>
internal static class Policies
{
    public static IEnumerable<JsonElement> Statements(SynthesizedApp app, string stackName)
    {
        foreach (var (_, policy) in app.Resources(stackName, "AWS::IAM::Policy"))
        {
            foreach (var statement in policy.GetProperty("Properties").GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray())
            {
                yield return statement;
            }
        }

        foreach (var (_, role) in app.Resources(stackName, "AWS::IAM::Role"))
        {
            if (role.GetProperty("Properties").TryGetProperty("Policies", out var inline))
            {
                foreach (var statement in inline.EnumerateArray().SelectMany(p => p.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray()))
                {
                    yield return statement;
                }
            }
        }
    }

    public static string? Sid(JsonElement statement) =>
        statement.TryGetProperty("Sid", out var sid) ? sid.GetString() : null;

    public static IReadOnlyList<string> Actions(JsonElement statement) => Strings(statement.GetProperty("Action"));

    /// <summary>Each resource as written: "*", or the literal tail of an ARN built with Fn::Join.</summary>
    public static IReadOnlyList<string> Resources(JsonElement statement) =>
        [.. AsArray(statement.GetProperty("Resource")).Select(r => r.ValueKind == JsonValueKind.String
            ? r.GetString()!
            : r.TryGetProperty("Fn::Join", out var join) ? join[1].EnumerateArray().Last().GetString() ?? "" : r.GetRawText())];

    /// <summary>Each resource as compact JSON, intrinsic functions and all.</summary>
    public static IReadOnlyList<string> RawResources(JsonElement statement) =>
        [.. AsArray(statement.GetProperty("Resource")).Select(r => JsonSerializer.Serialize(r))];

    public static IReadOnlyList<string> ResourceSuffixes(JsonElement statement) =>
        [.. Resources(statement).Select(r => r.TrimStart(':')).Order(StringComparer.Ordinal)];

    private static IReadOnlyList<string> Strings(JsonElement value) => [.. AsArray(value).Select(v => v.GetString()!)];

    private static List<JsonElement> AsArray(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray()] : [value];
}
