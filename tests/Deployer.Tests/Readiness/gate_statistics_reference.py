#!/usr/bin/env python3
"""Reference values for GateStatisticsTests, computed independently of the C# code.

numpy and scipy are not installable on the build host, so this file re-implements, in plain Python, what the
tests compare against:
  * quantile: numpy.percentile's default ("linear", Hyndman & Fan type 7);
  * ks: scipy.stats.ks_2samp's statistic, the way scipy computes it (searchsorted of both samples over the pooled
    sample, side='right', then the largest |cdf1 - cdf2|), not the merge walk the C# code uses;
  * bootstrap: SplitMix64 (Steele, Lea & Flood 2014) drawing row indices by multiply-shift, the paired RMSE
    difference per resample, and the type-7 percentiles of the sorted differences.
Run: python3 tests/Deployer.Tests/Readiness/gate_statistics_reference.py
"""
from bisect import bisect_right
from math import floor, sqrt

MASK = (1 << 64) - 1


def quantile(values, p):
    s = sorted(values)
    pos = p * (len(s) - 1)
    lo = floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (pos - lo) * (s[hi] - s[lo])


def ks(a, b):
    sa, sb = sorted(a), sorted(b)
    pooled = sa + sb
    return max(abs(bisect_right(sa, x) / len(sa) - bisect_right(sb, x) / len(sb)) for x in pooled)


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def index(self, n):
        return ((self.next() >> 32) * n) >> 32


def paired_bootstrap(expected, candidate, live, resamples, seed, confidence):
    n = len(expected)
    sc = [(e - c) ** 2 for e, c in zip(expected, candidate)]
    sl = [(e - l) ** 2 for e, l in zip(expected, live)]
    observed = sqrt(sum(sc) / n) - sqrt(sum(sl) / n)
    rng = SplitMix64(seed)
    diffs = []
    for _ in range(resamples):
        tc = tl = 0.0
        for _ in range(n):
            r = rng.index(n)
            tc += sc[r]
            tl += sl[r]
        diffs.append(sqrt(tc / n) - sqrt(tl / n))
    tail = (1 - confidence) / 2
    return observed, quantile(diffs, tail), quantile(diffs, 1 - tail)


if __name__ == "__main__":
    rng = SplitMix64(0)
    print("splitmix64(0) first three:", [hex(rng.next()) for _ in range(3)])
    print("quantile 1..100 p50 p95 p99:", quantile(range(1, 101), 0.5), quantile(range(1, 101), 0.95), quantile(range(1, 101), 0.99))
    print("quantile [10,7,4,3,2,1] p50:", quantile([10, 7, 4, 3, 2, 1], 0.5))
    print("quantile [3.5, 1.25, 9, 2] p10 p90:", repr(quantile([3.5, 1.25, 9, 2], 0.1)), repr(quantile([3.5, 1.25, 9, 2], 0.9)))
    a = [1.0, 2.0, 2.0, 3.5, 4.0, 7.0, 8.5]
    b = [2.0, 2.5, 3.5, 3.5, 6.0, 9.0]
    print("ks a b:", repr(ks(a, b)))
    c = [float(i % 17) for i in range(100)]
    d = [float((i * 7) % 19) + 0.5 for i in range(80)]
    print("ks c d:", repr(ks(c, d)))
    expected = [float(50 + (i * 37) % 41) for i in range(60)]
    live = [e + ((i * 13) % 11 - 5) * 0.9 for i, e in enumerate(expected)]
    candidate = [e + ((i * 7) % 13 - 6) * 1.1 for i, e in enumerate(expected)]
    print("bootstrap 60 rows, 2000, seed 19, 0.95:", [repr(x) for x in paired_bootstrap(expected, candidate, live, 2000, 19, 0.95)])
    print("bootstrap 60 rows, 500, seed 7, 0.9:", [repr(x) for x in paired_bootstrap(expected, candidate, live, 500, 7, 0.9)])
