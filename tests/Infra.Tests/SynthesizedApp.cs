using System.Text.Json;
using Amazon.CDK;
using Amazon.CDK.Assertions;

// jsii drives one Node process per test process and is not thread-safe.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace StudentPerformance.Infra.Tests;

/// <summary>
/// The app synthesized once per load balancer variant, as `cdk synth` does: tests read the same template files
/// the CLI deploys, and use the assertion library where it says more than the JSON.
/// </summary>
public sealed class SynthesizedApp
{
    private static readonly Lazy<SynthesizedApp> DefaultApp = new(() => new SynthesizedApp(null));
    private static readonly Lazy<SynthesizedApp> AlbApp = new(() => new SynthesizedApp("alb"));

    private readonly App _app;
    private readonly string _outDir;

    private SynthesizedApp(string? fleetLoadBalancer)
    {
        _outDir = Directory.CreateTempSubdirectory("infra-tests-").FullName;
        // The context `cdk synth` passes from infra/cdk.json (feature flags), so the tests see what deploys.
        using var cdkJson = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot, "infra", "cdk.json")));
        var context = cdkJson.RootElement.GetProperty("context").EnumerateObject()
            .ToDictionary(p => p.Name, p => (object)(p.Value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => p.Value.GetString()!,
            }));
        if (fleetLoadBalancer is not null)
        {
            context[InfraApp.FleetLoadBalancerContextKey] = fleetLoadBalancer;
        }

        _app = new App(new AppProps { Outdir = _outDir, Context = context });
        InfraApp.AddStacks(_app);
        _app.Synth();
    }

    /// <summary>The defaults, as `cdk deploy` without context builds them (NLB fleet).</summary>
    public static SynthesizedApp Default => DefaultApp.Value;

    /// <summary>The fleet's ALB option (<c>-c fleetLoadBalancer=alb</c>).</summary>
    public static SynthesizedApp WithAlb => AlbApp.Value;

    /// <summary>The repository's root folder (the one with StudentPerformance.slnx), found above the test binaries.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static IReadOnlyList<string> StackNames { get; } = ["Registry", "CiIdentity", "Host", "Fleet"];

    public Template Assertions(string stackName) => Template.FromStack((Stack)_app.Node.FindChild(stackName));

    public JsonElement Json(string stackName)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(_outDir, $"{stackName}.template.json")));
        return document.RootElement.Clone();
    }

    /// <summary>Resources of one CloudFormation type, by logical id.</summary>
    public IReadOnlyList<(string LogicalId, JsonElement Resource)> Resources(string stackName, string type) =>
        [.. Json(stackName).GetProperty("Resources").EnumerateObject()
            .Where(r => r.Value.GetProperty("Type").GetString() == type)
            .Select(r => (r.Name, r.Value))];

    /// <summary>The user data script of a stack's launch template, with CloudFormation references as ${Ref}.</summary>
    public string UserData(string stackName)
    {
        var (_, template) = Assert.Single(Resources(stackName, "AWS::EC2::LaunchTemplate"));
        var userData = template.GetProperty("Properties").GetProperty("LaunchTemplateData").GetProperty("UserData");
        return Flatten(userData.GetProperty("Fn::Base64"));
    }

    private static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "StudentPerformance.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("StudentPerformance.slnx not found above the test binaries.");
    }

    private static string Flatten(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Object when value.TryGetProperty("Fn::Join", out var join) =>
            string.Join(join[0].GetString(), join[1].EnumerateArray().Select(Flatten)),
        JsonValueKind.Object when value.TryGetProperty("Ref", out var reference) => $"${{{reference.GetString()}}}",
        _ => value.GetRawText(),
    };
}
