using System.Text.RegularExpressions;
using StudentPerformance.Delivery.Tests.Docker;

namespace StudentPerformance.Delivery.Tests.Docs;

/// <summary>
/// docs/containers.md lists every variable docker-compose.yml reads, and no other: the table under
/// "### Compose variables", one row per variable, the name in backticks in its first cell.
/// </summary>
public sealed partial class DocsComposeTests
{
    [Fact]
    public void ComposeVariables_TableInContainersPage_MatchesDockerComposeYml()
    {
        // Arrange
        var compose = File.ReadAllText(Path.Combine(RepoPaths.Root, "docker-compose.yml"));
        var page = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "containers.md"));

        // Act
        var used = ComposeVariable().Matches(compose).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var listed = ListedVariables(page);

        // Assert
        Assert.NotEmpty(used);
        Assert.True(
            used.SetEquals(listed),
            "docs/containers.md, \"### Compose variables\": "
            + $"missing {Describe(used.Except(listed))}; listed but not in docker-compose.yml {Describe(listed.Except(used))}.");
    }

    private static HashSet<string> ListedVariables(string page)
    {
        var section = page.IndexOf("\n### Compose variables", StringComparison.Ordinal);
        Assert.True(section >= 0, "docs/containers.md has no \"### Compose variables\" section.");
        var next = page.IndexOf("\n#", section + 1, StringComparison.Ordinal);
        var text = next < 0 ? page[section..] : page[section..next];
        return TableRowVariable().Matches(text).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
    }

    private static string Describe(IEnumerable<string> names)
    {
        var list = names.Order(StringComparer.Ordinal).ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }

    // ${NAME}, ${NAME:-default}, ${NAME-default}; $$ escapes are not variables.
    [GeneratedRegex(@"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex ComposeVariable();

    [GeneratedRegex(@"(?m)^\|\s*`([A-Za-z_][A-Za-z0-9_]*)`\s*\|")]
    private static partial Regex TableRowVariable();
}
