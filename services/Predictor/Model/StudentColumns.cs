namespace StudentPerformance.Predictor.Model;

/// <summary>The dataset's column names (snake_case), shared by the CSV reader, the pipeline and the model file.</summary>
public static class StudentColumns
{
    public const string Gender = "gender";
    public const string RaceEthnicity = "race_ethnicity";
    public const string ParentalLevelOfEducation = "parental_level_of_education";
    public const string Lunch = "lunch";
    public const string TestPreparationCourse = "test_preparation_course";
    public const string ReadingScore = "reading_score";
    public const string WritingScore = "writing_score";
    public const string MathScore = "math_score";

    /// <summary>The five categoricals, in the order <see cref="StudentFeatures"/> declares them.</summary>
    public static IReadOnlyList<string> Categorical { get; } =
        [Gender, RaceEthnicity, ParentalLevelOfEducation, Lunch, TestPreparationCourse];

    /// <summary>The two numeric inputs, in the order <see cref="StudentFeatures"/> declares them.</summary>
    public static IReadOnlyList<string> Numeric { get; } = [ReadingScore, WritingScore];

    public const double ScoreMin = 0;
    public const double ScoreMax = 100;

    internal static string CategoricalValue(in StudentFeatures student, int index) => index switch
    {
        0 => student.Gender,
        1 => student.RaceEthnicity,
        2 => student.ParentalLevelOfEducation,
        3 => student.Lunch,
        4 => student.TestPreparationCourse,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };
}
