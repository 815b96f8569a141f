namespace StudentPerformance.Delivery.Tests.Docker;

/// <summary>Where the repository is, found from the test binaries wherever the clone sits.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder that holds StudentPerformance.slnx.</summary>
    public static string Root => LazyRoot.Value;

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StudentPerformance.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No StudentPerformance.slnx above {AppContext.BaseDirectory}.");
    }

    /// <summary>
    /// Copies the build inputs of the repository (no bin, obj, .git or test results) into a new temporary folder,
    /// so a test can break something in the copy without touching the real tree.
    /// </summary>
    public static string CopyTree()
    {
        var target = Directory.CreateTempSubdirectory("delivery-tree-").FullName;
        string[] skipped = ["bin", "obj", ".git", "TestResults", "node_modules", ".vs", ".idea"];
        foreach (var source in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Root, source);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => skipped.Contains(part)))
            {
                continue;
            }

            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination);
        }

        return target;
    }
}
