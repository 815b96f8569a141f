using Microsoft.Extensions.Options;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Shadow;

/// <summary>
/// The most recent valid inputs, in a fixed ring: recording is one interlocked add and a struct copy into a slot,
/// with no lock and no allocation, so the Predict path does not notice it. Readers take a copy.
/// </summary>
/// <remarks>
/// A reader racing a writer may see a slot half overwritten: each field then comes from one of two valid inputs,
/// which is still a valid input (every string is one of the schema's own values and every score passed its range
/// check). A slot reserved but not yet written holds no student and is left out. For a sample that is the right
/// trade: a lock here would be paid on every call.
/// </remarks>
public sealed class InputSample
{
    private readonly StudentFeatures[] _ring;
    private long _written;

    public InputSample(IOptions<ShadowOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        _ring = settings.Enabled ? new StudentFeatures[settings.SampleSize] : [];
    }

    /// <summary>Whether inputs are recorded.</summary>
    public bool Enabled => _ring.Length > 0;

    /// <summary>How many inputs the ring holds at most.</summary>
    public int Capacity => _ring.Length;

    /// <summary>How many inputs were recorded since start.</summary>
    public long Recorded => Volatile.Read(ref _written);

    public void Record(in StudentFeatures student)
    {
        if (_ring.Length == 0)
        {
            return;
        }

        var slot = Interlocked.Increment(ref _written) - 1;
        _ring[slot % _ring.Length] = student;
    }

    /// <summary>Records a batch; only its last <see cref="Capacity"/> inputs can stay, so only they are copied.</summary>
    public void Record(ReadOnlySpan<StudentFeatures> students)
    {
        if (_ring.Length == 0 || students.IsEmpty)
        {
            return;
        }

        var kept = students[Math.Max(0, students.Length - _ring.Length)..];
        var first = Interlocked.Add(ref _written, kept.Length) - kept.Length;
        for (var i = 0; i < kept.Length; i++)
        {
            _ring[(first + i) % _ring.Length] = kept[i];
        }
    }

    /// <summary>A copy of the sample, oldest first.</summary>
    public IReadOnlyList<StudentFeatures> Snapshot()
    {
        var written = Volatile.Read(ref _written);
        var count = (int)Math.Min(written, _ring.Length);
        var copy = new List<StudentFeatures>(count);
        for (var i = written - count; i < written; i++)
        {
            var student = _ring[i % _ring.Length];
            if (student.Gender is not null)
            {
                copy.Add(student);
            }
        }

        return copy;
    }
}
