using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Readiness;

namespace Deployer.Tests.Readiness;

public sealed class QualityGateOptionsTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("sp-golden-options-");

    [Fact]
    public void Enabled_Unset_FollowsWhetherAGoldenSetIsConfigured()
    {
        var without = Bind([]);
        var with = Bind(new() { ["Deployer:QualityGate:GoldenSetPath"] = "golden/students-golden.csv" });

        Assert.False(without.IsEnabled);
        Assert.True(with.IsEnabled);
        Assert.Equal(50, with.MinRows);
        Assert.Equal(7.0, with.MaxRmse);
        Assert.Equal(0.75, with.MinR2);
        Assert.Equal(0.05, with.MaxRelativeRmseIncrease);
        Assert.Null(with.MaxAbsoluteDelta);
    }

    [Fact]
    public void Validate_RelativePath_IsTakenFromTheExecutablesFolder()
    {
        var options = Bind(new() { ["Deployer:QualityGate:GoldenSetPath"] = "golden/students-golden.csv" });

        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "golden", "students-golden.csv"), options.ResolvedGoldenSetPath);
    }

    [Fact]
    public void Validate_DisabledWithAMissingFile_DoesNotReadIt()
    {
        var options = Bind(new() { ["Deployer:QualityGate:Enabled"] = "false", ["Deployer:QualityGate:GoldenSetPath"] = "/nonexistent/golden.csv" });

        Assert.False(options.IsEnabled);
    }

    [Fact]
    public void Validate_BadRowInTheGoldenSet_NamesTheKeyAndTheLine()
    {
        var path = Path.Combine(_folder.FullName, "golden.csv");
        var lines = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "golden", "students-golden.csv")).ToList();
        lines[17] = "female,group B,bachelor's degree,standard,none,ninety,72,74";
        File.WriteAllLines(path, lines);

        var error = Assert.Throws<OptionsValidationException>(() => Bind(new() { ["Deployer:QualityGate:GoldenSetPath"] = path }));

        Assert.Equal($"Deployer:QualityGate:GoldenSetPath: '{path}' line 18: math_score 'ninety' is not a number", error.Message);
    }

    [Theory]
    [InlineData("Deployer:QualityGate:Enabled", "true", "Deployer:QualityGate:GoldenSetPath must name")]
    [InlineData("Deployer:QualityGate:GoldenSetPath", "/nonexistent/golden.csv", "Deployer:QualityGate:GoldenSetPath: '/nonexistent/golden.csv' cannot be read")]
    [InlineData("Deployer:QualityGate:MaxRmse", "0", "Deployer:QualityGate:MaxRmse")]
    [InlineData("Deployer:QualityGate:MinR2", "1.5", "Deployer:QualityGate:MinR2")]
    [InlineData("Deployer:QualityGate:MaxRelativeRmseIncrease", "-0.1", "Deployer:QualityGate:MaxRelativeRmseIncrease")]
    [InlineData("Deployer:QualityGate:MaxAbsoluteDelta", "-1", "Deployer:QualityGate:MaxAbsoluteDelta")]
    [InlineData("Deployer:QualityGate:Timeout", "00:00:00", "Deployer:QualityGate:Timeout")]
    [InlineData("Deployer:QualityGate:MinRows", "1", "MinRows")]
    public void Validate_BadSetting_NamesTheKey(string key, string value, string named)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind(new() { [key] = value }));

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MinRowsAboveTheShippedSet_NamesMinRows()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind(new()
        {
            ["Deployer:QualityGate:GoldenSetPath"] = "golden/students-golden.csv",
            ["Deployer:QualityGate:MinRows"] = "201",
        }));

        Assert.Contains("has 200 rows, fewer than Deployer:QualityGate:MinRows (201)", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _folder.Delete(recursive: true);

    private static QualityGateOptions Bind(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddQualityGate();
        using var host = builder.Build();
        return host.Services.GetRequiredService<IOptions<QualityGateOptions>>().Value;
    }
}
