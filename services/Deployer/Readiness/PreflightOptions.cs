namespace StudentPerformance.Deployer.Readiness;

/// <summary>Section <c>Deployer:Preflight</c>: the candidate runs on a loopback side port before the swap.</summary>
public sealed class PreflightOptions
{
    public const string SectionName = "Deployer:Preflight";

    public bool Enabled { get; set; } = true;

    /// <summary>How long the candidate may take to reach SERVING and answer the golden request.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The golden <c>PredictRequest</c> in protobuf JSON form.</summary>
    public string GoldenRequest { get; set; } =
        """{"student":{"gender":"female","raceEthnicity":"group B","parentalLevelOfEducation":"bachelor's degree","lunch":"standard","testPreparationCourse":"none","readingScore":72,"writingScore":74}}""";

    /// <summary>Lowest acceptable golden <c>math_score</c>.</summary>
    public double MinScore { get; set; }

    /// <summary>Highest acceptable golden <c>math_score</c>.</summary>
    public double MaxScore { get; set; } = 100;
}
