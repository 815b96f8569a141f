namespace StudentPerformance.Features;

/// <summary>
/// The dataset's columns in their snake_case spelling: five categorical features, two numeric ones and the label.
/// The trainer, the model file, the golden set, the predictor's sample and the shadow replay all use these names.
/// </summary>
public static class FeatureSchema
{
    public const string Gender = "gender";
    public const string RaceEthnicity = "race_ethnicity";
    public const string ParentalLevelOfEducation = "parental_level_of_education";
    public const string Lunch = "lunch";
    public const string TestPreparationCourse = "test_preparation_course";
    public const string ReadingScore = "reading_score";
    public const string WritingScore = "writing_score";
    public const string MathScore = "math_score";

    /// <summary>Lowest and highest score (each of the three scores).</summary>
    public const double ScoreMin = 0;

    /// <summary>Highest score.</summary>
    public const double ScoreMax = 100;

    /// <summary>The five categoricals, in the order <see cref="StudentRow"/> declares them.</summary>
    public static IReadOnlyList<string> Categorical { get; } =
        [Gender, RaceEthnicity, ParentalLevelOfEducation, Lunch, TestPreparationCourse];

    /// <summary>The two numeric inputs, in the order <see cref="StudentRow"/> declares them.</summary>
    public static IReadOnlyList<string> Numeric { get; } = [ReadingScore, WritingScore];

    /// <summary>The header of a labelled file in the snake_case spelling.</summary>
    public const string LabelledHeader =
        "gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,math_score,reading_score,writing_score";

    /// <summary>The header of a file of inputs only (a recorded sample).</summary>
    public const string InputHeader =
        "gender,race_ethnicity,parental_level_of_education,lunch,test_preparation_course,reading_score,writing_score";

    /// <summary>
    /// A header name in snake_case: the dataset spells names several ways (<c>race/ethnicity</c>,
    /// <c>math score</c>, <c>race_ethnicity</c>), and all of them mean the same column.
    /// </summary>
    public static string Fold(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant().Replace('/', '_').Replace(' ', '_').Replace('-', '_');
    }
}

/// <summary>
/// One student as a file holds it: the seven inputs and, in a labelled file, the known math score.
/// <see cref="Row"/> is the 0-based data row (blank lines not counted) and <see cref="Line"/> the 1-based file line.
/// </summary>
public sealed record StudentRow(
    int Row,
    int Line,
    string Gender,
    string RaceEthnicity,
    string ParentalLevelOfEducation,
    string Lunch,
    string TestPreparationCourse,
    double ReadingScore,
    double WritingScore,
    double? MathScore)
{
    /// <summary>The categorical value at <paramref name="index"/> in <see cref="FeatureSchema.Categorical"/> order.</summary>
    public string Categorical(int index) => index switch
    {
        0 => Gender,
        1 => RaceEthnicity,
        2 => ParentalLevelOfEducation,
        3 => Lunch,
        4 => TestPreparationCourse,
        _ => throw new ArgumentOutOfRangeException(nameof(index), index, "a categorical index is 0 to 4"),
    };
}
