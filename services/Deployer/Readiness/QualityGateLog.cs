namespace StudentPerformance.Deployer.Readiness;

// Event ids 1100-1119 belong to the quality gate.
internal static partial class Log
{
    [LoggerMessage(1100, LogLevel.Information,
        "Rollout {RolloutId} quality gate on {Rows} golden rows: candidate {CandidateVersion} RMSE {CandidateRmse:0.00} MAE {CandidateMae:0.00} R² {CandidateR2:0.000}; live {LiveVersion} RMSE {LiveRmse:0.00} MAE {LiveMae:0.00} R² {LiveR2:0.000}; {DurationMs:0} ms")]
    public static partial void QualityFigures(ILogger logger, string rolloutId, int rows, string candidateVersion, double candidateRmse, double candidateMae, double candidateR2,
        string liveVersion, double liveRmse, double liveMae, double liveR2, double durationMs);

    [LoggerMessage(1101, LogLevel.Information, "Rollout {RolloutId} quality gate passed")]
    public static partial void QualityPassed(ILogger logger, string rolloutId);

    [LoggerMessage(1102, LogLevel.Warning, "Rollout {RolloutId} quality gate refused the candidate: {Reasons}")]
    public static partial void QualityRefused(ILogger logger, string rolloutId, string reasons);

    [LoggerMessage(1103, LogLevel.Warning, "Rollout {RolloutId} quality gate warning: {Warning}")]
    public static partial void QualityWarning(ILogger logger, string rolloutId, string warning);

    [LoggerMessage(1104, LogLevel.Information, "Rollout {RolloutId} quality gate: {Reason}")]
    public static partial void QualityNoLive(ILogger logger, string rolloutId, string reason);

    [LoggerMessage(1105, LogLevel.Information, "Quality gate on: {Rows} golden rows from {Path} (sha256 {Sha256})")]
    public static partial void QualityGateLoaded(ILogger logger, int rows, string path, string sha256);

    [LoggerMessage(1106, LogLevel.Warning, "Quality gate off: {Reason}")]
    public static partial void QualityGateOff(ILogger logger, string reason);

    [LoggerMessage(1107, LogLevel.Information,
        "Rollout {RolloutId} quality gate on {Rows} golden rows: candidate {CandidateVersion} RMSE {CandidateRmse:0.00} MAE {CandidateMae:0.00} R² {CandidateR2:0.000}; no live model; {DurationMs:0} ms")]
    public static partial void QualityFiguresCandidateOnly(ILogger logger, string rolloutId, int rows, string candidateVersion, double candidateRmse, double candidateMae, double candidateR2, double durationMs);

    [LoggerMessage(1108, LogLevel.Information,
        "Rollout {RolloutId} quality gate: RMSE(candidate) − RMSE(live) {Observed:+0.00;-0.00}, {Confidence:0.###} interval [{Lower:+0.00;-0.00}, {Upper:+0.00;-0.00}], allowed +{Allowed:0.00}; {Slices} slices judged")]
    public static partial void QualityInterval(ILogger logger, string rolloutId, double observed, double confidence, double lower, double upper, double allowed, int slices);
}

// Event ids 1120-1129 belong to the shadow step.
internal static partial class Log
{
    [LoggerMessage(1120, LogLevel.Information,
        "Rollout {RolloutId} shadow step on {Compared} recent inputs: candidate rejected {Rejected}; |Δŷ| p50 {P50:0.00} p95 {P95:0.00} p99 {P99:0.00} max {Max:0.00}; beyond tolerance {Share:0.0%}; KS {Ks:0.000}; {DurationMs:0} ms")]
    public static partial void ShadowFigures(ILogger logger, string rolloutId, int compared, int rejected, double p50, double p95, double p99, double max, double share, double ks, double durationMs);

    [LoggerMessage(1121, LogLevel.Information, "Rollout {RolloutId} shadow step passed")]
    public static partial void ShadowPassed(ILogger logger, string rolloutId);

    [LoggerMessage(1122, LogLevel.Warning, "Rollout {RolloutId} shadow step refused the candidate: {Reasons}")]
    public static partial void ShadowRefused(ILogger logger, string rolloutId, string reasons);

    [LoggerMessage(1123, LogLevel.Warning, "Rollout {RolloutId} shadow step warning: {Warning}")]
    public static partial void ShadowWarning(ILogger logger, string rolloutId, string warning);
}
