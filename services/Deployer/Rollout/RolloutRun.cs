namespace StudentPerformance.Deployer.Rollout;

/// <summary>The mutable facts of one rollout in progress.</summary>
internal sealed class RolloutRun(string id, string digest, string kind, TimeProvider time)
{
    public string Id { get; } = id;

    public string Digest { get; } = digest;

    public string Kind { get; } = kind;

    public long Started { get; } = time.GetTimestamp();

    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    /// <summary>True once the live container (or the edge's live slot) may have been touched; failures from here on roll back.</summary>
    public bool Swapped { get; set; }

    /// <summary>Something served before this rollout and can be gone back to.</summary>
    public bool HadPrevious { get; set; }

    /// <summary>The new container as inspected after its start.</summary>
    public Containers.ContainerInfo? Container { get; set; }

    public long? DowntimeStart { get; set; }

    public TimeSpan? Downtime { get; set; }
}

/// <summary>A rollout step failed. <see cref="ImageAtFault"/> says whether the digest should be quarantined.</summary>
public sealed class RolloutStepException : Exception
{
    public RolloutStepException(string message, bool imageAtFault)
        : base(message) => ImageAtFault = imageAtFault;

    public RolloutStepException() : this("rollout step failed", imageAtFault: false) { }

    public RolloutStepException(string message) : this(message, imageAtFault: false) { }

    public RolloutStepException(string message, Exception inner) : base(message, inner) { }

    public bool ImageAtFault { get; }
}
