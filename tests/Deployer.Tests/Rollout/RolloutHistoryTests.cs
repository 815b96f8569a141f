using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

/// <summary>The rollout history behind the dashboard's timeline and <c>Deployer status</c>: steps, outcome, restarts.</summary>
public sealed class RolloutHistoryTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("sp-history-").FullName;

    [Fact]
    public void Steps_StartAndEnd_RecordDurationAndOutcomeInOrder()
    {
        var history = new RolloutHistory(_directory);

        history.Begin("r1", "sha256:a", "new-digest", T0);
        history.StepStarted("r1", "pull", T0);
        history.StepEnded("r1", "pull", TimeSpan.FromSeconds(2), error: null);
        history.StepStarted("r1", "candidate", T0.AddSeconds(2));
        var running = history.Entries[0];
        history.StepEnded("r1", "candidate", TimeSpan.FromSeconds(5), "preflight refused the image: exited");
        history.Finished(new RolloutRecord("r1", "sha256:a", "new-digest", RolloutOutcome.Refused, "preflight refused the image: exited", T0, TimeSpan.FromSeconds(7), null));

        Assert.Null(running.Outcome);
        Assert.Equal(StepOutcome.Running, running.Steps[1].Outcome);
        var done = Assert.Single(history.Entries);
        Assert.Equal(RolloutOutcome.Refused, done.Outcome);
        Assert.Equal(T0.AddSeconds(7), done.FinishedAt);
        Assert.Equal([("pull", StepOutcome.Passed, 2.0), ("candidate", StepOutcome.Failed, 5.0)], done.Steps.Select(s => (s.Name, s.Outcome, s.Duration!.Value.TotalSeconds)));
        Assert.Equal("preflight refused the image: exited", done.Steps[1].Error);
    }

    [Fact]
    public void Entries_MoreThanCapacity_KeepsTheNewestFirst()
    {
        var history = new RolloutHistory(null);

        for (var i = 0; i < RolloutHistory.Capacity + 5; i++)
        {
            history.Begin($"r{i}", "sha256:a", "new-digest", T0.AddMinutes(i));
        }

        Assert.Equal(RolloutHistory.Capacity, history.Entries.Count);
        Assert.Equal($"r{RolloutHistory.Capacity + 4}", history.Entries[0].Id);
    }

    [Fact]
    public void Reload_AfterARestartMidRollout_KeepsTheFinishedAndMarksTheUnfinishedInterrupted()
    {
        var before = new RolloutHistory(_directory);
        before.Begin("r1", "sha256:a", "new-digest", T0);
        before.Finished(new RolloutRecord("r1", "sha256:a", "new-digest", RolloutOutcome.Succeeded, "ok", T0, TimeSpan.FromSeconds(30), null));
        before.Begin("r2", "sha256:b", "new-digest", T0.AddMinutes(5));
        before.StepStarted("r2", "health gate", T0.AddMinutes(5));

        var after = new RolloutHistory(_directory).Entries;

        Assert.Equal(["r2", "r1"], after.Select(e => e.Id));
        Assert.True(after[0].Interrupted);
        Assert.Null(after[0].Outcome);
        Assert.Equal(StepOutcome.Failed, after[0].Steps[0].Outcome);
        Assert.False(after[1].Interrupted);
        Assert.Equal(RolloutOutcome.Succeeded, after[1].Outcome);
    }

    [Fact]
    public void Load_DamagedFile_StartsAnEmptyHistory()
    {
        File.WriteAllText(Path.Combine(_directory, "rollouts.json"), "{ not json");

        var history = new RolloutHistory(_directory);

        Assert.Empty(history.Entries);
    }

    [Fact]
    public void Write_FolderGone_KeepsTheHistoryInMemoryAndSaysWhy()
    {
        var history = new RolloutHistory(_directory);
        Directory.Delete(_directory, recursive: true);

        history.Begin("r1", "sha256:a", "new-digest", T0);

        Assert.Single(history.Entries);
        Assert.Contains("rollouts.json", history.WriteError, StringComparison.Ordinal);
        Directory.CreateDirectory(_directory);
        history.StepStarted("r1", "pull", T0);
        Assert.Null(history.WriteError);
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
