namespace StudentPerformance.Predictor.Tests.Support;

/// <summary>
/// Finds the repository root by walking up from the test binaries to StudentPerformance.slnx, and the reference
/// data committed under <c>data/reference</c> (see its README.md for origin and checksums).
/// </summary>
public static class RepoPaths
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string RepoRoot => Root.Value;

    public static string ReferenceData => Path.Combine(RepoRoot, "data", "reference");

    /// <summary>The public "Students Performance in Exams" dataset, 1000 rows.</summary>
    public static string StudCsv => Path.Combine(ReferenceData, "stud.csv");

    /// <summary>The 200 test-row numbers of scikit-learn's split with random_state=42.</summary>
    public static string StudTestRows => Path.Combine(ReferenceData, "stud-test-rows-seed42.txt");

    /// <summary>The generated sample committed in the repository.</summary>
    public static string SampleCsv => Path.Combine(RepoRoot, "data", "sample", "students.csv");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "StudentPerformance.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no StudentPerformance.slnx above {AppContext.BaseDirectory}");
    }
}
