using System.ComponentModel.DataAnnotations;

namespace StudentPerformance.Predictor.Shadow;

/// <summary>
/// Section <c>Predictor:Shadow</c>: the bounded in-memory sample of recent valid inputs that the deployer replays
/// through a candidate before it gets traffic (docs/quality-gate.md). Features only: no outputs, no client identity,
/// nothing on disk. Served only on the admin endpoint <c>Kestrel:Endpoints:Admin</c>.
/// </summary>
public sealed class ShadowOptions
{
    public const string SectionName = "Predictor:Shadow";

    /// <summary>Keep the sample. Off: nothing is recorded and the admin endpoint answers 404.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How many of the most recent valid inputs the sample holds.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Predictor:Shadow:SampleSize must be between {1} and {2}.")]
    public int SampleSize { get; set; } = 2000;
}
