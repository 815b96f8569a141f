using Microsoft.Extensions.Options;
using StudentPerformance.Predictor.Model;
using StudentPerformance.Predictor.Shadow;

namespace StudentPerformance.Predictor.Tests.Shadow;

public sealed class InputSampleTests
{
    [Fact]
    public void Record_MoreThanCapacity_KeepsTheMostRecentOldestFirst()
    {
        var sample = Sample(3);

        for (var i = 0; i < 5; i++)
        {
            sample.Record(Student(i));
        }

        Assert.Equal([2f, 3f, 4f], sample.Snapshot().Select(s => s.ReadingScore));
        Assert.Equal(5, sample.Recorded);
    }

    [Fact]
    public void Record_BatchLargerThanCapacity_KeepsItsLastInputs()
    {
        var sample = Sample(4);
        sample.Record(Student(100));

        sample.Record([.. Enumerable.Range(0, 10).Select(Student)]);

        Assert.Equal([6f, 7f, 8f, 9f], sample.Snapshot().Select(s => s.ReadingScore));
    }

    [Fact]
    public void Record_FewerThanCapacity_ReturnsOnlyWhatWasRecorded()
    {
        var sample = Sample(2000);

        sample.Record(Student(1));
        sample.Record([Student(2), Student(3)]);

        Assert.Equal([1f, 2f, 3f], sample.Snapshot().Select(s => s.ReadingScore));
    }

    [Fact]
    public void Record_Off_KeepsNothing()
    {
        var sample = new InputSample(Options.Create(new ShadowOptions { Enabled = false }));

        sample.Record(Student(1));
        sample.Record([Student(2)]);

        Assert.False(sample.Enabled);
        Assert.Empty(sample.Snapshot());
    }

    [Fact]
    public void Record_ManyThreadsAtOnce_LeavesOnlyValidInputs()
    {
        // Torn slots are allowed (each field from one of two valid inputs); an empty or invented one is not.
        var sample = Sample(64);

        Parallel.For(0, 20_000, i => sample.Record(Student(i % 100)));

        var snapshot = sample.Snapshot();
        Assert.Equal(64, snapshot.Count);
        Assert.All(snapshot, s => Assert.True(s.Gender == "female" && s.ReadingScore is >= 0 and < 100, s.ToString()));
    }

    private static InputSample Sample(int size) => new(Options.Create(new ShadowOptions { SampleSize = size }));

    private static StudentFeatures Student(int i) => new("female", "group B", "some college", "standard", "none", i, 50);
}
