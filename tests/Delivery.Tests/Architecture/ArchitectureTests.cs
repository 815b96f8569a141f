using StudentPerformance.Delivery.Tests.Docker;

namespace StudentPerformance.Delivery.Tests.Architecture;

/// <summary>
/// The layering of each service stays one-way: no namespace cycle between its top-level folders (for the predictor
/// Model ← Grpc ← Health ← Http ← Hosting). A failure names the cycle and the file behind each step.
/// </summary>
public sealed class ArchitectureTests
{
    [Fact]
    public void Predictor_TopLevelFolders_HaveNoNamespaceCycle()
    {
        var graph = NamespaceGraph.Read(Path.Combine(RepoPaths.Root, "services", "Predictor"), "Predictor");

        Assert.Contains("Model", graph.Edges.Keys);
        Assert.Contains("Model", graph.Edges["Grpc"].Keys);
        AssertNoCycle(graph);
    }

    [Fact]
    public void PredictorTraining_TopLevelFolders_HaveNoNamespaceCycle()
    {
        var graph = NamespaceGraph.Read(Path.Combine(RepoPaths.Root, "services", "Predictor.Training"), "Predictor");

        AssertNoCycle(graph);
    }

    [Fact]
    public void Deployer_TopLevelFolders_HaveNoNamespaceCycle()
    {
        var graph = NamespaceGraph.Read(Path.Combine(RepoPaths.Root, "services", "Deployer"), "Deployer");

        Assert.Contains("Rollout", graph.Edges.Keys);
        AssertNoCycle(graph);
    }

    [Fact]
    public void Cycles_TwoFoldersUsingEachOther_NamesTheCycleAndTheFiles()
    {
        // Arrange: Admin uses Rollout through a using directive, Rollout uses Admin through a qualified name.
        (string, string)[] sources =
        [
            ("Admin/Status.cs", "using StudentPerformance.Svc.Rollout;\nnamespace StudentPerformance.Svc.Admin;\nclass Status { Plan? P; }"),
            ("Rollout/Plan.cs", "namespace StudentPerformance.Svc.Rollout;\nclass Plan { StudentPerformance.Svc.Admin.Metrics? M; }"),
            ("Registry/Client.cs", "namespace StudentPerformance.Svc.Registry;\nclass Client { }"),
        ];

        // Act
        var cycles = NamespaceGraph.FromSources("Svc", sources).Cycles();

        // Assert
        var cycle = Assert.Single(cycles);
        Assert.StartsWith("Svc: Admin → Rollout → Admin", cycle, StringComparison.Ordinal);
        Assert.Contains("Admin/Status.cs", cycle, StringComparison.Ordinal);
        Assert.Contains("Rollout/Plan.cs", cycle, StringComparison.Ordinal);
    }

    [Fact]
    public void Cycles_ThroughATypeOfTheRootNamespace_AreFound()
    {
        // Arrange: a root-namespace type is visible without a using, so naming it is a dependency on the root.
        (string, string)[] sources =
        [
            ("Options.cs", "namespace StudentPerformance.Svc;\npublic sealed class SvcOptions { StudentPerformance.Svc.Admin.Page? P; }"),
            ("Admin/Page.cs", "namespace StudentPerformance.Svc.Admin;\nclass Page { SvcOptions? O; }"),
        ];

        // Act
        var cycles = NamespaceGraph.FromSources("Svc", sources).Cycles();

        // Assert
        Assert.Contains("(root) → Admin → (root)", Assert.Single(cycles), StringComparison.Ordinal);
    }

    [Fact]
    public void Cycles_LayersAndMentionsInComments_AreNone()
    {
        // Arrange: one-way uses; a comment naming the upper layer is not a dependency.
        (string, string)[] sources =
        [
            ("Model/Bundle.cs", "namespace StudentPerformance.Svc.Model;\n// see StudentPerformance.Svc.Grpc.Service\nclass Bundle { }"),
            ("Grpc/Service.cs", "using StudentPerformance.Svc.Model;\nnamespace StudentPerformance.Svc.Grpc;\nclass Service { Bundle? B; }"),
            ("Hosting/Setup.cs", "using StudentPerformance.Svc.Grpc;\nusing StudentPerformance.Svc.Model;\nnamespace StudentPerformance.Svc.Hosting;\nclass Setup { }"),
        ];

        // Act
        var graph = NamespaceGraph.FromSources("Svc", sources);

        // Assert
        Assert.Empty(graph.Cycles());
        Assert.Equal(["Grpc", "Model"], graph.Edges["Hosting"].Keys);
        Assert.Empty(graph.Edges["Model"]);
    }

    private static void AssertNoCycle(NamespaceGraph graph)
    {
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, "namespace cycles between top-level folders:\n" + string.Join("\n", cycles));
    }
}
