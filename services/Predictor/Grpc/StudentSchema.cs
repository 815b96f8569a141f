using System.Globalization;
using StudentPerformance.Predictor.Model;
using StudentPerformance.V1;

namespace StudentPerformance.Predictor.Grpc;

/// <summary>
/// Validates a <see cref="Student"/> message against the loaded model's schema and maps it to
/// <see cref="StudentFeatures"/>. This is the only place input is checked, so gRPC and REST (JSON transcoding of
/// the same service) give the same answers.
/// </summary>
/// <remarks>
/// Categorical values match case-insensitively (ordinal) and are mapped to the model's own spelling, so "Female"
/// and "FEMALE" both mean "female". Nothing else is forgiven: no trimming, no abbreviations. A valid student
/// costs no allocation: the mapped strings are the schema's own instances.
/// </remarks>
internal sealed class StudentSchema
{
    private StudentSchema(
        CategoricalRule gender,
        CategoricalRule raceEthnicity,
        CategoricalRule parentalLevelOfEducation,
        CategoricalRule lunch,
        CategoricalRule testPreparationCourse,
        NumericRule readingScore,
        NumericRule writingScore)
    {
        Gender = gender;
        RaceEthnicity = raceEthnicity;
        ParentalLevelOfEducation = parentalLevelOfEducation;
        Lunch = lunch;
        TestPreparationCourse = testPreparationCourse;
        ReadingScore = readingScore;
        WritingScore = writingScore;
    }

    public CategoricalRule Gender { get; }

    public CategoricalRule RaceEthnicity { get; }

    public CategoricalRule ParentalLevelOfEducation { get; }

    public CategoricalRule Lunch { get; }

    public CategoricalRule TestPreparationCourse { get; }

    public NumericRule ReadingScore { get; }

    public NumericRule WritingScore { get; }

    public IEnumerable<CategoricalRule> Categoricals => [Gender, RaceEthnicity, ParentalLevelOfEducation, Lunch, TestPreparationCourse];

    public IEnumerable<NumericRule> Numerics => [ReadingScore, WritingScore];

    /// <summary>Builds the schema from model metadata; throws <see cref="InvalidDataException"/> when a field is missing.</summary>
    public static StudentSchema FromMetadata(ModelMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return new StudentSchema(
            Categorical(metadata, "gender"),
            Categorical(metadata, "race_ethnicity"),
            Categorical(metadata, "parental_level_of_education"),
            Categorical(metadata, "lunch"),
            Categorical(metadata, "test_preparation_course"),
            Numeric(metadata, "reading_score"),
            Numeric(metadata, "writing_score"));
    }

    /// <summary>
    /// Checks one student. On success fills <paramref name="features"/>; otherwise adds every problem to
    /// <paramref name="violations"/> (created on first use) with field paths under <paramref name="path"/>.
    /// </summary>
    public bool TryMap(Student? student, FieldPath path, out StudentFeatures features, ref FieldViolations? violations)
    {
        features = default;
        if (student is null)
        {
            (violations ??= new()).Add(path.Root(), "is required: a student with all seven fields");
            return false;
        }

        var ok = Gender.TryMatch(student.Gender, path, ref violations, out var gender);
        ok &= RaceEthnicity.TryMatch(student.RaceEthnicity, path, ref violations, out var race);
        ok &= ParentalLevelOfEducation.TryMatch(student.ParentalLevelOfEducation, path, ref violations, out var education);
        ok &= Lunch.TryMatch(student.Lunch, path, ref violations, out var lunch);
        ok &= TestPreparationCourse.TryMatch(student.TestPreparationCourse, path, ref violations, out var preparation);
        ok &= ReadingScore.TryCheck(student.HasReadingScore, student.ReadingScore, path, ref violations, out var reading);
        ok &= WritingScore.TryCheck(student.HasWritingScore, student.WritingScore, path, ref violations, out var writing);
        if (!ok)
        {
            return false;
        }

        features = new StudentFeatures(gender, race, education, lunch, preparation, reading, writing);
        return true;
    }

    /// <summary>The dataset spells names several ways ("race/ethnicity", "race_ethnicity"); compare them folded.</summary>
    internal static string Fold(string name) => Features.FeatureSchema.Fold(name);

    private static CategoricalRule Categorical(ModelMetadata metadata, string name)
    {
        var field = metadata.CategoricalFields.FirstOrDefault(f => Fold(f.Name) == name)
            ?? throw new InvalidDataException($"model metadata has no categorical field '{name}'");
        if (field.AllowedValues.Count == 0)
        {
            throw new InvalidDataException($"model metadata lists no allowed values for '{name}'");
        }

        return new CategoricalRule(name, [.. field.AllowedValues]);
    }

    private static NumericRule Numeric(ModelMetadata metadata, string name)
    {
        var field = metadata.NumericFields.FirstOrDefault(f => Fold(f.Name) == name)
            ?? throw new InvalidDataException($"model metadata has no numeric field '{name}'");
        return new NumericRule(name, field.Min, field.Max);
    }
}

/// <summary>Where a student sits in the request: <c>student</c> in Predict, <c>students[i]</c> in PredictBatch.</summary>
internal readonly record struct FieldPath(int Index)
{
    public static FieldPath Single => new(-1);

    // Built only when a violation is reported, so valid requests allocate no strings.
    public string Root() => Index < 0 ? "student" : string.Create(CultureInfo.InvariantCulture, $"students[{Index}]");

    public string Of(string field) => Index < 0
        ? "student." + field
        : string.Create(CultureInfo.InvariantCulture, $"students[{Index}].{field}");
}

/// <summary>A categorical field and the values the model knows, in the model's spelling.</summary>
internal sealed class CategoricalRule(string name, string[] allowedValues)
{
    private const int MaxEchoedLength = 40;

    private readonly string _allowedText = string.Join(", ", allowedValues.Select(v => $"\"{v}\""));

    public string Name { get; } = name;

    public IReadOnlyList<string> AllowedValues => allowedValues;

    public bool TryMatch(string value, FieldPath path, ref FieldViolations? violations, out string canonical)
    {
        foreach (var allowed in allowedValues)
        {
            if (string.Equals(value, allowed, StringComparison.Ordinal))
            {
                canonical = allowed;
                return true;
            }
        }

        foreach (var allowed in allowedValues)
        {
            if (string.Equals(value, allowed, StringComparison.OrdinalIgnoreCase))
            {
                canonical = allowed;
                return true;
            }
        }

        canonical = "";
        var description = value.Length == 0
            ? $"is required; allowed values: {_allowedText}"
            : $"\"{Echo(value)}\" is not an allowed value; allowed values: {_allowedText}";
        (violations ??= new()).Add(path.Of(Name), description);
        return false;
    }

    private static string Echo(string value) => value.Length <= MaxEchoedLength ? value : value[..MaxEchoedLength] + "…";
}

/// <summary>A score field and its closed range.</summary>
internal sealed class NumericRule(string name, double min, double max)
{
    public string Name { get; } = name;

    public double Min { get; } = min;

    public double Max { get; } = max;

    public bool TryCheck(bool present, double value, FieldPath path, ref FieldViolations? violations, out float checkedValue)
    {
        checkedValue = (float)value;
        if (present && value >= Min && value <= Max)
        {
            return true;
        }

        var range = string.Create(CultureInfo.InvariantCulture, $"a number from {Min} to {Max}");
        var description = !present ? $"is required: {range}"
            : double.IsNaN(value) ? $"must be {range}, not NaN"
            : double.IsInfinity(value) ? $"must be {range}, not {(value > 0 ? "Infinity" : "-Infinity")}"
            : string.Create(CultureInfo.InvariantCulture, $"must be {range}, got {value}");
        (violations ??= new()).Add(path.Of(Name), description);
        return false;
    }
}
