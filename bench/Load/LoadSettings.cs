namespace StudentPerformance.Bench.Load;

/// <summary>How hard and how long to drive a server. Bounded by <see cref="Duration"/> or by <see cref="Requests"/>, whichever comes first.</summary>
internal sealed record LoadSettings(
    Uri Address,
    int Connections,
    int PerConnection,
    TimeSpan Duration,
    TimeSpan Warmup,
    long Requests,
    int ServerPid,
    TimeSpan SampleEvery)
{
    /// <summary>How long calls still in flight at the end may take before they are cancelled, so a hung server cannot hang the run.</summary>
    public TimeSpan CallDeadline { get; init; } = TimeSpan.FromSeconds(30);

    public int InFlight => Connections * PerConnection;
}
