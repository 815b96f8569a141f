using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

public sealed class StateStoreTests : IDisposable
{
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("sp-deployer-state-").FullName;

    [Fact]
    public void Update_Quarantine_SurvivesARestart()
    {
        var options = Options.Create(new DeployerOptions { StateDirectory = _stateDirectory });
        var entry = new QuarantineEntry("sha256:bad", "gate failed", DateTimeOffset.UnixEpoch, "r1");
        new StateStore(options).Update(s => s with { Quarantined = [entry], GoodDigests = ["sha256:good"] });

        var reloaded = new StateStore(options).Current;

        Assert.Equal([entry], reloaded.Quarantined);
        Assert.Equal(["sha256:good"], reloaded.GoodDigests);
    }

    [Fact]
    public void Constructor_CorruptFile_NamesTheFile()
    {
        File.WriteAllText(Path.Combine(_stateDirectory, "state.json"), "{ not json");

        var error = Assert.Throws<InvalidOperationException>(() => new StateStore(Options.Create(new DeployerOptions { StateDirectory = _stateDirectory })));

        Assert.Contains("state.json", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_stateDirectory, recursive: true);
}
