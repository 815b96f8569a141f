using Microsoft.ML.Data;

using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Training;

/// <summary>The ML.NET row type: one student with its label. Column names follow the dataset.</summary>
/// <remarks>ML.NET binds rows by reflection over public properties, so this type must be public and mutable.</remarks>
public sealed class StudentRecord
{
    [ColumnName(StudentColumns.Gender)]
    public string Gender { get; set; } = "";

    [ColumnName(StudentColumns.RaceEthnicity)]
    public string RaceEthnicity { get; set; } = "";

    [ColumnName(StudentColumns.ParentalLevelOfEducation)]
    public string ParentalLevelOfEducation { get; set; } = "";

    [ColumnName(StudentColumns.Lunch)]
    public string Lunch { get; set; } = "";

    [ColumnName(StudentColumns.TestPreparationCourse)]
    public string TestPreparationCourse { get; set; } = "";

    [ColumnName(StudentColumns.ReadingScore)]
    public float ReadingScore { get; set; }

    [ColumnName(StudentColumns.WritingScore)]
    public float WritingScore { get; set; }

    [ColumnName(StudentColumns.MathScore)]
    public float MathScore { get; set; }

    public static StudentRecord From(in StudentFeatures features, float mathScore = 0) => new()
    {
        Gender = features.Gender,
        RaceEthnicity = features.RaceEthnicity,
        ParentalLevelOfEducation = features.ParentalLevelOfEducation,
        Lunch = features.Lunch,
        TestPreparationCourse = features.TestPreparationCourse,
        ReadingScore = features.ReadingScore,
        WritingScore = features.WritingScore,
        MathScore = mathScore,
    };
}

/// <summary>What ML.NET's regression pipeline writes: the raw, unclamped score.</summary>
public sealed class StudentPrediction
{
    [ColumnName("Score")]
    public float Score { get; set; }
}
