using StudentPerformance.Bench.Cli;
using StudentPerformance.V1;

namespace StudentPerformance.Bench.Load;

/// <summary>The students a run sends: one fixed record, or random valid records drawn from the served schema.</summary>
internal static class RequestMix
{
    public static readonly string[] OptionNames = ["mix", "seed"];

    /// <summary>The first row of the public dataset.</summary>
    public static Student Fixed() => new()
    {
        Gender = "female",
        RaceEthnicity = "group B",
        ParentalLevelOfEducation = "bachelor's degree",
        Lunch = "standard",
        TestPreparationCourse = "none",
        ReadingScore = 72,
        WritingScore = 74,
    };

    /// <summary>
    /// <paramref name="count"/> students: each categorical drawn uniformly from <c>GetModelInfo</c>'s allowed values and
    /// each score a whole number drawn uniformly from its range. Seeded, so two runs send the same requests.
    /// </summary>
    public static Student[] Random(ModelInfo info, int count, int seed)
    {
        var rng = new Random(seed);
        var categorical = info.CategoricalFields.ToDictionary(f => f.Name, f => f.AllowedValues.ToArray(), StringComparer.Ordinal);
        var numeric = info.NumericFields.ToDictionary(f => f.Name, f => (f.Min, f.Max), StringComparer.Ordinal);
        string Pick(string field) => categorical.TryGetValue(field, out var values) && values.Length > 0
            ? values[rng.Next(values.Length)]
            : throw new UsageException($"GetModelInfo lists no allowed values for '{field}'");
        double Score(string field)
        {
            var (min, max) = numeric.GetValueOrDefault(field, (0, 100));
            return rng.Next((int)Math.Ceiling(min), (int)Math.Floor(max) + 1);
        }

        var students = new Student[count];
        for (var i = 0; i < count; i++)
        {
            students[i] = new Student
            {
                Gender = Pick("gender"),
                RaceEthnicity = Pick("race_ethnicity"),
                ParentalLevelOfEducation = Pick("parental_level_of_education"),
                Lunch = Pick("lunch"),
                TestPreparationCourse = Pick("test_preparation_course"),
                ReadingScore = Score("reading_score"),
                WritingScore = Score("writing_score"),
            };
        }

        return students;
    }

    /// <summary>Reads <c>--mix fixed|random</c> and <c>--seed</c>, asking the server for its schema when random.</summary>
    public static async Task<Student[]> FromOptionsAsync(Options options, Uri address, int randomCount, CancellationToken cancellationToken)
    {
        var mix = options.String("mix", "fixed");
        var seed = options.Int("seed", 42);
        switch (mix)
        {
            case "fixed":
                return [Fixed()];
            case "random":
                using (var channel = ClosedLoop.CreateChannel(address))
                {
                    var info = await new Predictor.PredictorClient(channel).GetModelInfoAsync(
                        new GetModelInfoRequest(), cancellationToken: cancellationToken);
                    return Random(info, randomCount, seed);
                }

            default:
                throw new UsageException($"--mix must be 'fixed' or 'random', got '{mix}'");
        }
    }
}
