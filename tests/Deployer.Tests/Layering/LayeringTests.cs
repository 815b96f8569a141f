using System.Text.RegularExpressions;
using Deployer.Tests.Support;

namespace Deployer.Tests.Layering;

/// <summary>
/// The deployer's folders form one-way layers: a folder may use only the folders to its left. The source is
/// scanned (namespace declarations, using directives and fully qualified names), so a new file in the wrong
/// place fails here with its path.
/// </summary>
public partial class LayeringTests
{
    private const string Root = "StudentPerformance.Deployer";

    /// <summary>Left to right: Registry ← Containers ← Readiness ← Edge ← Fleet ← Rollout ← Admin ← Hosting.</summary>
    private static readonly string[] Layers = ["Registry", "Containers", "Readiness", "Edge", "Fleet", "Rollout", "Admin", "Hosting"];

    [Fact]
    public void Sources_UseOnlyLayersToTheirLeft()
    {
        var violations = new List<string>();
        foreach (var (file, folder, text) in DeployerSources())
        {
            var own = Array.IndexOf(Layers, folder);
            foreach (Match use in NamespaceUse().Matches(text))
            {
                var used = use.Groups["layer"].Value;
                var index = Array.IndexOf(Layers, used);
                if (folder.Length > 0 && index > own)
                {
                    violations.Add($"{file}: {folder} uses {used} ('{use.Value.Trim()}'), a layer to its right");
                }
            }
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void Sources_DeclareTheNamespaceOfTheirFolder()
    {
        var violations = new List<string>();
        foreach (var (file, folder, text) in DeployerSources())
        {
            if (folder.Length == 0)
            {
                continue;
            }

            if (!Layers.Contains(folder, StringComparer.Ordinal))
            {
                violations.Add($"{file}: the folder {folder} has no place in the layer order; add it to {nameof(LayeringTests)}.{nameof(Layers)}");
                continue;
            }

            // A type in the root namespace is visible to every folder: a way around the layers.
            foreach (Match declared in NamespaceDeclaration().Matches(text))
            {
                if (declared.Groups["name"].Value != $"{Root}.{folder}")
                {
                    violations.Add($"{file}: declares namespace {declared.Groups["name"].Value}, expected {Root}.{folder}");
                }
            }
        }

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void Scan_ARightwardUsing_IsReported()
    {
        var text = "using StudentPerformance.Deployer.Rollout;\nnamespace StudentPerformance.Deployer.Containers;\nvar x = new StudentPerformance.Deployer.Admin.AdminOptions();";

        var used = NamespaceUse().Matches(text).Select(m => m.Groups["layer"].Value);

        Assert.Equal(["Rollout", "Admin"], used);
    }

    private static IEnumerable<(string File, string Folder, string Text)> DeployerSources()
    {
        var project = Path.Combine(PredictorImages.RepositoryRoot, "services", "Deployer");
        var files = Directory.EnumerateFiles(project, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(project, f))
            .Where(f => !f.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && !f.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var separator = file.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal);
            var folder = separator < 0 ? "" : file[..separator];
            yield return ($"services/Deployer/{file.Replace(Path.DirectorySeparatorChar, '/')}", folder, File.ReadAllText(Path.Combine(project, file)));
        }
    }

    // "using X;", "using static X.Y;", "using A = X.Y;" and fully qualified names in code; the declaration is not a use.
    [GeneratedRegex(@"(?<!namespace\s+)\bStudentPerformance\.Deployer\.(?<layer>[A-Z][A-Za-z]*)\b")]
    private static partial Regex NamespaceUse();

    [GeneratedRegex(@"^\s*namespace\s+(?<name>[\w.]+)", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();
}
