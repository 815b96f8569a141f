using StudentPerformance.Delivery.Tests.Docker;

namespace StudentPerformance.Delivery.Tests.Docs;

/// <summary>
/// Every configuration key the services bind is documented in README.md or docs/*.md, and every key written there
/// exists. Keys are written as inline code in their colon form (see <see cref="DocumentedKeys"/>); the options
/// classes are found by reflection (see <see cref="OptionsKeys"/>), so moving or adding them needs no change here.
/// </summary>
public sealed class DocsConfigurationTests
{
    private static readonly Lazy<(IReadOnlyList<OptionsKey> Keys, IReadOnlyList<string> Roots)> Services =
        new(() => OptionsKeys.Read(OptionsKeys.ServiceAssemblyPaths));

    [Fact]
    public void ServiceAssemblies_EveryServiceProjectBuilt_OptionsRootsFound()
    {
        // Arrange
        var projects = Directory.GetFiles(Path.Combine(RepoPaths.Root, "services"), "*.csproj", SearchOption.AllDirectories)
            .Select(Path.GetFileNameWithoutExtension)
            .Order(StringComparer.Ordinal)
            .ToList();

        // Act
        var built = OptionsKeys.ServiceAssemblyPaths.Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList();
        var (keys, roots) = Services.Value;

        // Assert
        Assert.Equal(projects, built);
        Assert.All(OptionsKeys.ServiceAssemblyPaths, path => Assert.True(File.Exists(path), $"{path} was not built."));
        Assert.NotEmpty(roots);
        Assert.NotEmpty(keys);
    }

    [Fact]
    public void OptionsKeys_EveryKeyOfTheServices_IsDocumented()
    {
        // Arrange
        var (keys, _) = Services.Value;
        var documented = DocumentedInRepository(keys);

        // Act
        var undocumented = keys
            .Where(k => !documented.Any(d => d.Key == k.Key || (k.IsCollection && d.Key.StartsWith(k.Key + ":", StringComparison.Ordinal))))
            .Select(k => $"`{k.Key}` ({k.Source})")
            .ToList();

        // Assert
        Assert.True(
            undocumented.Count == 0,
            $"{undocumented.Count} configuration key(s) are bound by an options class but written in no page. "
            + "Document each in docs/*.md as inline code in colon form, with its default and meaning:\n  "
            + string.Join("\n  ", undocumented));
    }

    [Fact]
    public void DocumentedKeys_EveryKeyInThePages_IsBoundByAnOptionsClass()
    {
        // Arrange
        var (keys, _) = Services.Value;
        var documented = DocumentedInRepository(keys);

        // Act
        var unknown = documented
            .Where(d => !Resolves(d.Key, keys))
            .Select(d => $"{d.File}:{d.Line}: `{d.Key}`")
            .ToList();

        // Assert
        Assert.True(
            unknown.Count == 0,
            $"{unknown.Count} key(s) written in the docs are bound by no options class (renamed, removed or misspelt):\n  "
            + string.Join("\n  ", unknown));
    }

    [Fact]
    public void Read_SampleOptions_NestedSectionsRecurseCollectionsAreLeavesComputedSkipped()
    {
        // Act
        var (keys, _) = OptionsKeys.Read([typeof(DocsConfigurationTests).Assembly.Location]);

        // Assert
        var sample = keys.Where(k => k.Key.StartsWith("DocsSample:", StringComparison.Ordinal)).Select(k => (k.Key, k.IsCollection));
        Assert.Equal(
            [
                ("DocsSample:Inner:Deadline", false),
                ("DocsSample:Inner:Limits", true),
                ("DocsSample:Mode", false),
                ("DocsSample:Names", true),
            ],
            sample.OrderBy(k => k.Key, StringComparer.Ordinal));
    }

    [Fact]
    public void Find_Markdown_OnlyWholeColonFormSpansOutsideFencesAreKeys()
    {
        // Arrange
        const string Markdown = """
            | `Deployer:Mode` | `Deployer__PollInterval` | `Other:Key` |
            A message: `Deployer:Container:Ports:0 ('8000') must be host:container`, and `FrontDoor:Tls:*`.
            ```sh
            echo `Deployer:Disk:MinFreeMiB`
            ```
            Then ``Predictor:`Quoted` `` and `Predictor:ModelPath`.
            """;

        // Act
        var found = DocumentedKeys.Find(Markdown, "page.md", ["Deployer", "Predictor", "FrontDoor"]).ToList();

        // Assert
        Assert.Equal(
            [("Deployer:Mode", 1), ("FrontDoor:Tls:*", 2), ("Predictor:ModelPath", 6)],
            found.Select(k => (k.Key, k.Line)));
    }

    [Theory]
    [InlineData("Deployer:Mode", true)]
    [InlineData("Deployer:Container:Ports:0", true)]
    [InlineData("Deployer:Container:Env:ASPNETCORE_ENVIRONMENT", true)]
    [InlineData("Deployer:Container", true)]
    [InlineData("Deployer:Container:*", true)]
    [InlineData("Deployer:Container:Nmae", false)]
    [InlineData("Deployer:Mode:Extra", false)]
    [InlineData("Deployer:Nowhere:*", false)]
    public void Resolves_KeySectionOrCollectionEntry_OnlyKnownOnesPass(string written, bool expected)
    {
        // Arrange
        OptionsKey[] keys =
        [
            new("Deployer:Mode", false, "sample"),
            new("Deployer:Container:Name", false, "sample"),
            new("Deployer:Container:Ports", true, "sample"),
            new("Deployer:Container:Env", true, "sample"),
        ];

        // Act
        var resolves = Resolves(written, keys);

        // Assert
        Assert.Equal(expected, resolves);
    }

    /// <summary>
    /// A written key resolves when it is a key, an entry of a list or dictionary key (<c>Ports:0</c>,
    /// <c>Env:NAME</c>), or a section that holds keys, written bare or as <c>Section:*</c>.
    /// </summary>
    private static bool Resolves(string written, IReadOnlyCollection<OptionsKey> keys)
    {
        var section = written.EndsWith(":*", StringComparison.Ordinal) ? written[..^2] : written;
        return keys.Any(k =>
            k.Key == written
            || (k.IsCollection && written.StartsWith(k.Key + ":", StringComparison.Ordinal))
            || k.Key.StartsWith(section + ":", StringComparison.Ordinal));
    }

    private static List<DocumentedKey> DocumentedInRepository(IReadOnlyCollection<OptionsKey> keys)
    {
        var roots = keys.Select(k => k.Key.Split(':')[0]).ToHashSet(StringComparer.Ordinal);
        var pages = Directory.GetFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md", SearchOption.AllDirectories)
            .Append(Path.Combine(RepoPaths.Root, "README.md"));
        return pages
            .SelectMany(page => DocumentedKeys.Find(File.ReadAllText(page), Path.GetRelativePath(RepoPaths.Root, page), roots))
            .ToList();
    }
}

/// <summary>An options root for <see cref="DocsConfigurationTests"/>: one of each kind of property.</summary>
public sealed class DocsSampleOptions
{
    public const string SectionName = "DocsSample";

    public string Mode { get; set; } = "";

    public IList<string> Names { get; set; } = [];

    public DocsSampleInnerOptions Inner { get; } = new();

    public bool Computed => Mode.Length > 0;

    public IReadOnlyList<string> ComputedNames => Names.Count == 0 ? ["default"] : [.. Names];
}

/// <summary>A nested section of <see cref="DocsSampleOptions"/>.</summary>
public sealed class DocsSampleInnerOptions
{
    public TimeSpan Deadline { get; set; }

    public IDictionary<string, string> Limits { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
