using StudentPerformance.Features;

namespace StudentPerformance.Predictor.Model;

/// <summary>The dataset's column names as the model file and the pipeline use them: <see cref="FeatureSchema"/>'s.</summary>
public static class StudentColumns
{
    public const string Gender = FeatureSchema.Gender;
    public const string RaceEthnicity = FeatureSchema.RaceEthnicity;
    public const string ParentalLevelOfEducation = FeatureSchema.ParentalLevelOfEducation;
    public const string Lunch = FeatureSchema.Lunch;
    public const string TestPreparationCourse = FeatureSchema.TestPreparationCourse;
    public const string ReadingScore = FeatureSchema.ReadingScore;
    public const string WritingScore = FeatureSchema.WritingScore;
    public const string MathScore = FeatureSchema.MathScore;

    /// <summary>The five categoricals, in the order <see cref="StudentFeatures"/> declares them.</summary>
    public static IReadOnlyList<string> Categorical { get; } =
        [Gender, RaceEthnicity, ParentalLevelOfEducation, Lunch, TestPreparationCourse];

    /// <summary>The two numeric inputs, in the order <see cref="StudentFeatures"/> declares them.</summary>
    public static IReadOnlyList<string> Numeric { get; } = [ReadingScore, WritingScore];

    public const double ScoreMin = FeatureSchema.ScoreMin;
    public const double ScoreMax = FeatureSchema.ScoreMax;

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
