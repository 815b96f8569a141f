namespace StudentPerformance.Features;

/// <summary>
/// The contract between the predictor's input sample and the deployer's shadow replay: where the sample is served on
/// the predictor's loopback admin port, and the request header that keeps a replayed call out of the sample.
/// </summary>
public static class ShadowSample
{
    /// <summary>GET on the admin port: the sample as CSV with <see cref="FeatureSchema.InputHeader"/>, oldest first.</summary>
    public const string Path = "/admin/sample";

    /// <summary>
    /// A <c>PredictBatch</c> call carrying this header (any value) is not sampled: the deployer's golden set and its
    /// replays are not client traffic, and would otherwise crowd it out of the sample they are judged by.
    /// </summary>
    public const string ReplayHeader = "x-shadow-replay";
}
