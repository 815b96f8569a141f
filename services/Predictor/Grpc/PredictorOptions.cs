using System.ComponentModel.DataAnnotations;

namespace StudentPerformance.Predictor.Grpc;

/// <summary>Serving settings, bound from the <c>Predictor</c> section (env vars: <c>Predictor__Key</c>).</summary>
public sealed class PredictorOptions
{
    public const string SectionName = "Predictor";

    /// <summary>
    /// The model file. Relative paths resolve against the working directory; the default is the model the build
    /// trains, <c>model/model.zip</c> beside the executable.
    /// </summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Predictor:ModelPath must name a model file.")]
    public string ModelPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "model", "model.zip");

    /// <summary>The most students one PredictBatch call may carry.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Predictor:MaxBatchSize must be between {1} and {2}.")]
    public int MaxBatchSize { get; set; } = 10_000;

    /// <summary>How long in-flight calls may run after SIGTERM before they are cut off.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Predictor:DrainTimeout must be between {1} and {2}.")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Largest request message in bytes. 4 MiB holds a full 10,000-student batch with room to spare; anything
    /// bigger is refused with RESOURCE_EXHAUSTED before it is parsed.
    /// </summary>
    [Range(1024, 256 * 1024 * 1024, ErrorMessage = "Predictor:MaxReceiveMessageSize must be between {1} and {2} bytes.")]
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest response message in bytes.</summary>
    [Range(1024, 256 * 1024 * 1024, ErrorMessage = "Predictor:MaxSendMessageSize must be between {1} and {2} bytes.")]
    public int MaxSendMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Log every validated request's inputs at Information. Off by default: the inputs describe a person.
    /// </summary>
    public bool LogInputs { get; set; }
}
