using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

public sealed class StateStoreTests : IDisposable
{
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("sp-deployer-state-").FullName;

    private IOptions<DeployerOptions> Options => Microsoft.Extensions.Options.Options.Create(new DeployerOptions { StateDirectory = _stateDirectory });

    private string StatePath => Path.Combine(_stateDirectory, "state.json");

    [Fact]
    public void Update_Quarantine_SurvivesARestart()
    {
        var entry = new QuarantineEntry("sha256:bad", "gate failed", DateTimeOffset.UnixEpoch, "r1");
        new StateStore(Options).Update(s => s with { Quarantined = [entry], GoodDigests = ["sha256:good"] });

        var reloaded = new StateStore(Options).Current;

        Assert.Equal([entry], reloaded.Quarantined);
        Assert.Equal(["sha256:good"], reloaded.GoodDigests);
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("")]
    [InlineData("null")]
    public void Constructor_DamagedFile_FallsBackToTheLastGoodCopy(string damaged)
    {
        new StateStore(Options).Commit("sha256:good");
        File.WriteAllText(StatePath, damaged);

        var store = new StateStore(Options);

        Assert.Equal(["sha256:good"], store.Current.GoodDigests);
        Assert.False(store.Rebuilt);
    }

    [Fact]
    public void Constructor_FileAndCopyDamaged_StartsEmptyAndSaysItWasRebuilt()
    {
        File.WriteAllText(StatePath, "");
        File.WriteAllText(StatePath + ".bak", "{ torn");

        var store = new StateStore(Options);

        Assert.Empty(store.Current.GoodDigests);
        Assert.True(store.Rebuilt);
    }

    [Fact]
    public void Update_DiskRefuses_IsAStepFailureNamingTheFile_AndTheStateStaysAsItWas()
    {
        var store = new StateStore(Options);
        store.Commit("sha256:good");
        Directory.CreateDirectory(StatePath + ".tmp"); // the temporary file cannot be created: the write fails

        var error = Assert.Throws<RolloutStepException>(() => store.SetPaused(true));

        Assert.Contains("state.json", error.Message, StringComparison.Ordinal);
        Assert.False(error.ImageAtFault);
        Assert.False(store.Current.Paused);
        Assert.Equal(["sha256:good"], new StateStore(Options).Current.GoodDigests);
    }

    [Fact]
    public void Commit_EndsTheRolloutAndLiftsTheQuarantine_InOneWrite()
    {
        var store = new StateStore(Options);
        store.Quarantine(new QuarantineEntry("sha256:v2", "flaky", DateTimeOffset.UnixEpoch, "r1"));
        store.BeginPhase(new SlotRollout("r2", "sha256:v2", RolloutKinds.Deploy, "green", "blue", SlotPhases.Retire));

        store.Commit("sha256:v2");

        var reloaded = new StateStore(Options).Current;
        Assert.Null(reloaded.ActiveSlotRollout);
        Assert.Empty(reloaded.Quarantined);
        Assert.Equal(["sha256:v2"], reloaded.GoodDigests);
    }

    public void Dispose() => Directory.Delete(_stateDirectory, recursive: true);
}
