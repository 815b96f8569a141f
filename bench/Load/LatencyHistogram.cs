using System.Numerics;

namespace StudentPerformance.Bench.Load;

/// <summary>
/// A log-linear histogram of nanosecond latencies in the spirit of HdrHistogram: exact below 512 ns, then 256
/// sub-buckets per power of two (0.4 % resolution) up to about 18 minutes. Recording is one array increment,
/// so each load worker owns one and they are merged after the run.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBits = 8;
    private const int SubCount = 1 << SubBits;
    private const int MaxShift = 32;
    private const int BucketCount = 2 * SubCount + (MaxShift - 1) * SubCount;

    private readonly long[] _counts = new long[BucketCount];

    public long Count { get; private set; }

    public long MaxNanoseconds { get; private set; }

    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }

        _counts[IndexOf(nanoseconds)]++;
        Count++;
        if (nanoseconds > MaxNanoseconds)
        {
            MaxNanoseconds = nanoseconds;
        }
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        MaxNanoseconds = Math.Max(MaxNanoseconds, other.MaxNanoseconds);
    }

    /// <summary>The value at or below which <paramref name="percentile"/> % of the samples fall.</summary>
    public long Percentile(double percentile)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(percentile / 100.0 * Count);
        rank = Math.Clamp(rank, 1, Count);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(ValueOf(i), MaxNanoseconds);
            }
        }

        return MaxNanoseconds;
    }

    private static int IndexOf(long value)
    {
        if (value < 2 * SubCount)
        {
            return (int)value;
        }

        var shift = BitOperations.Log2((ulong)value) - SubBits;
        if (shift > MaxShift)
        {
            return BucketCount - 1;
        }

        var top = (int)(value >> shift);
        return 2 * SubCount + (shift - 1) * SubCount + (top - SubCount);
    }

    private static long ValueOf(int index)
    {
        if (index < 2 * SubCount)
        {
            return index;
        }

        var shift = ((index - 2 * SubCount) / SubCount) + 1;
        var top = ((index - 2 * SubCount) % SubCount) + SubCount;
        // The middle of the bucket: at most half a bucket (0.2 %) away from any value in it.
        return ((long)top << shift) + ((1L << shift) >> 1);
    }
}
