using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Admin;

/// <summary>What <c>Deployer evaluate</c> was asked to do.</summary>
/// <param name="Candidate">gRPC address of the image under test.</param>
/// <param name="Live">gRPC address of the model to compare with, or null for the absolute limits only.</param>
/// <param name="Overrides">Settings given on the command line, as <c>Deployer:QualityGate:*</c> keys.</param>
/// <param name="WaitForServing">How long to wait for the candidate (and live) to answer SERVING first.</param>
/// <param name="SamplePath">A recorded sample of inputs (the CSV a predictor's admin endpoint serves) to replay through both models, or null.</param>
public sealed record EvaluateArguments(Uri Candidate, Uri? Live, IReadOnlyDictionary<string, string?> Overrides, TimeSpan WaitForServing, string? SamplePath = null);

/// <summary>
/// <c>Deployer evaluate --candidate URL [--live URL] [--golden F.csv] [--max-rmse X] [--min-r2 X]
/// [--max-relative-rmse-increase X] [--max-absolute-delta X] [--min-rows N] [--wait 00:01:00]</c>: the deployer's
/// own quality gate, for CI before a push. The limits come from the same <c>Deployer:QualityGate</c> settings as the
/// running deployer (appsettings.json beside the executable, then <c>Deployer__QualityGate__*</c> environment
/// variables, then these options). Exit codes: 0 the gate passes; 1 it refuses; 2 bad usage, bad settings or
/// golden set, or a model that never answered SERVING.
/// </summary>
public static class EvaluateCommand
{
    /// <summary>The <c>evaluate</c> command, with <c>--help</c>; a bad option is named and exits 2.</summary>
    public static Command Create()
    {
        var candidate = AddressOption("--candidate", "gRPC address of the image under test, e.g. http://127.0.0.1:8000.");
        candidate.Required = true;
        var live = AddressOption("--live", "gRPC address of the live model to compare with. Without it only the absolute limits apply.");
        var wait = new Option<TimeSpan>("--wait")
        {
            Description = "How long to wait for each model to answer SERVING first (hh:mm:ss).",
            DefaultValueFactory = _ => TimeSpan.FromMinutes(1),
            CustomParser = result => TimeSpan.TryParse(Token(result), CultureInfo.InvariantCulture, out var value) && value >= TimeSpan.Zero
                ? value
                : Error<TimeSpan>(result, $"--wait: '{Token(result)}' is not a duration such as 00:01:00."),
        };
        var sample = new Option<string>("--sample")
        {
            Description = "A recorded sample of inputs (CSV, as a predictor's admin endpoint serves it at /admin/sample) to replay through both models with the Deployer:ShadowGate limits. Needs --live.",
            HelpName = "file",
        };
        var command = new Command("evaluate", "Scores a candidate model (and optionally the live one) on the golden set with the deployer's quality gate; exit 0 pass, 1 refused, 2 usage or setup error.")
        {
            candidate,
            live,
            wait,
            sample,
        };
        var limits = new List<(Option<string> Option, string Key)>();
        foreach (var (name, key, description) in LimitOptions)
        {
            var option = new Option<string>(name) { Description = $"{description} Overrides Deployer:QualityGate:{key}." };
            limits.Add((option, key));
            command.Add(option);
        }

        command.SetAction((parse, ct) =>
        {
            var overrides = limits
                .Where(l => parse.GetValue(l.Option) is not null)
                .ToDictionary(l => l.Key, l => parse.GetValue(l.Option), StringComparer.Ordinal);
            var arguments = new EvaluateArguments(parse.GetValue(candidate)!, parse.GetValue(live), overrides, parse.GetValue(wait), parse.GetValue(sample));
            return RunAsync(arguments, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, TimeProvider.System, ct);
        });
        return command;
    }

    private static readonly (string Name, string Key, string Description)[] LimitOptions =
    [
        ("--golden", nameof(QualityGateOptions.GoldenSetPath), "Golden set CSV (the dataset's own format)."),
        ("--max-rmse", nameof(QualityGateOptions.MaxRmse), "Absolute RMSE ceiling."),
        ("--min-r2", nameof(QualityGateOptions.MinR2), "Lowest acceptable R²."),
        ("--max-relative-rmse-increase", nameof(QualityGateOptions.MaxRelativeRmseIncrease), "Largest RMSE increase over the live model, as a fraction."),
        ("--max-absolute-delta", nameof(QualityGateOptions.MaxAbsoluteDelta), "Largest difference from the live answer on any row."),
        ("--min-rows", nameof(QualityGateOptions.MinRows), "Fewest golden rows accepted."),
    ];

    // Readable in a CI log: "R²" and "×" as they are, not as \u escapes.
    private static readonly JsonSerializerOptions JsonOutput = new(JsonSerializerOptions.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static Option<Uri> AddressOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "url",
        CustomParser = result => Uri.TryCreate(Token(result), UriKind.Absolute, out var address) && address.Scheme is "http" or "https"
            ? address
            : Error<Uri>(result, $"{name}: '{Token(result)}' is not an absolute http:// or https:// URL."),
    };

    private static string Token(System.CommandLine.Parsing.ArgumentResult result) => result.Tokens.Count == 1 ? result.Tokens[0].Value : "";

    private static T Error<T>(System.CommandLine.Parsing.ArgumentResult result, string message)
    {
        result.AddError(message);
        return default!;
    }

    /// <summary>Runs the gate once; the last line written to <paramref name="stdout"/> is the report as one JSON object.</summary>
    public static async Task<int> RunAsync(EvaluateArguments arguments, TextWriter stdout, TextWriter stderr, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddInMemoryCollection(arguments.Overrides.ToDictionary(o => QualityGateOptions.Key(o.Key), o => o.Value))
            .Build();
        if (arguments.SamplePath is not null && arguments.Live is null)
        {
            await stderr.WriteLineAsync("evaluate: --sample needs --live: the recorded inputs are replayed through both models").ConfigureAwait(false);
            return 2;
        }

        var options = new QualityGateOptions();
        var shadowOptions = new ShadowGateOptions();
        var goldenSets = new GoldenSetCache();
        try
        {
            configuration.GetSection(QualityGateOptions.SectionName).Bind(options);
            configuration.GetSection(ShadowGateOptions.SectionName).Bind(shadowOptions);
        }
        catch (InvalidOperationException ex)
        {
            await stderr.WriteLineAsync($"evaluate: {QualityGateOptions.SectionName}: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        // An evaluation is what the switch is for: a configuration that turns the gate off still gets scored.
        options.Enabled = true;
        var validation = new QualityGateOptionsValidator(goldenSets).Validate(null, options);
        if (validation.Failed)
        {
            await stderr.WriteLineAsync($"evaluate: {validation.FailureMessage}").ConfigureAwait(false);
            return 2;
        }

        var shadowProblems = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(shadowOptions, new(shadowOptions), shadowProblems, validateAllProperties: true))
        {
            await stderr.WriteLineAsync($"evaluate: {string.Join("; ", shadowProblems.Select(p => p.ErrorMessage))}").ConfigureAwait(false);
            return 2;
        }

        InputSampleResult? recorded = null;
        if (arguments.SamplePath is { } samplePath)
        {
            recorded = ShadowGate.ReadSampleFile(samplePath);
            if (recorded.Problem is { } problem)
            {
                await stderr.WriteLineAsync($"evaluate: --sample: {problem}").ConfigureAwait(false);
                return 2;
            }
        }

        // The same health probe as preflight; the default settings only feed its golden request, unused here.
        var probe = new GrpcPredictorProbe(Options.Create(new PreflightOptions()), time, new PinnedCertificates());
        foreach (var address in new[] { arguments.Candidate, arguments.Live }.OfType<Uri>())
        {
            if (!await Wait.UntilAsync(c => probe.IsServingAsync(address, TimeSpan.FromSeconds(2), c), TimeSpan.FromMilliseconds(250), arguments.WaitForServing, time, cancellationToken).ConfigureAwait(false))
            {
                await stderr.WriteLineAsync($"evaluate: {address} did not answer SERVING within {arguments.WaitForServing} (--wait)").ConfigureAwait(false);
                return 2;
            }
        }

        var gate = new QualityGate(Options.Create(options), goldenSets, time, NullLogger<QualityGate>.Instance);
        var report = await gate.EvaluateAsync(null, arguments.Candidate, arguments.Live, arguments.Live is null ? "no --live given: absolute limits only" : null, cancellationToken).ConfigureAwait(false);
        if (recorded is not null)
        {
            using var shadow = new ShadowGate(Options.Create(shadowOptions), time, NullLogger<ShadowGate>.Instance);
            report = report with { Shadow = await shadow.EvaluateAsync(null, arguments.Candidate, arguments.Live!, recorded, cancellationToken).ConfigureAwait(false) };
        }

        await WriteReportAsync(report, stdout).ConfigureAwait(false);
        return report.Passed && report.Shadow?.Refused != true ? 0 : 1;
    }

    private static async Task WriteReportAsync(QualityGateReport report, TextWriter stdout)
    {
        await stdout.WriteLineAsync(Invariant($"golden set: {report.Rows} rows, sha256 {report.GoldenSetSha256}")).ConfigureAwait(false);
        await stdout.WriteLineAsync(Describe("candidate", report.Candidate)).ConfigureAwait(false);
        await stdout.WriteLineAsync(report.Live is null ? $"live:      {report.LiveNote}" : Describe("live", report.Live)).ConfigureAwait(false);
        if (report.RmseDifference is { } d)
        {
            await stdout.WriteLineAsync(Invariant($"RMSE(candidate) − RMSE(live): {d.Observed:+0.00;-0.00}, {d.Confidence:0.###} interval [{d.Lower:+0.00;-0.00}, {d.Upper:+0.00;-0.00}] ({d.Resamples} paired resamples), allowed +{report.AllowedRmseIncrease:0.00}")).ConfigureAwait(false);
        }

        foreach (var slice in report.Slices)
        {
            await stdout.WriteLineAsync(Invariant($"slice {slice.Feature}={slice.Value} ({slice.Rows} rows): candidate RMSE {slice.CandidateRmse:0.00}, live {slice.LiveRmse:0.00}{(slice.Regressed ? "  REGRESSED" : "")}")).ConfigureAwait(false);
        }

        foreach (var warning in report.Warnings)
        {
            await stdout.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
        }

        if (report.Shadow is { } shadow)
        {
            await stdout.WriteLineAsync(shadow.AbsoluteDelta is { } delta
                ? Invariant($"shadow: {shadow.Compared} of {shadow.Samples} recorded inputs compared, candidate rejected {shadow.CandidateRejected}; |Δŷ| p50 {delta.P50:0.00} p95 {delta.P95:0.00} p99 {delta.P99:0.00} max {delta.Max:0.00}; beyond {shadow.Tolerance:0.##} points {shadow.ShareBeyondTolerance:0.0%}; KS {shadow.Ks:0.000}")
                : Invariant($"shadow: {shadow.Result}, {shadow.Samples} recorded inputs, candidate rejected {shadow.CandidateRejected}")).ConfigureAwait(false);
            foreach (var warning in shadow.Warnings)
            {
                await stdout.WriteLineAsync($"shadow warning: {warning}").ConfigureAwait(false);
            }

            foreach (var refusal in shadow.Refusals)
            {
                await stdout.WriteLineAsync($"SHADOW REFUSED: {refusal}").ConfigureAwait(false);
            }
        }

        foreach (var refusal in report.Refusals)
        {
            await stdout.WriteLineAsync($"REFUSED: {refusal}").ConfigureAwait(false);
        }

        await stdout.WriteLineAsync(Invariant($"quality gate {report.Result} in {report.DurationMs:0} ms")).ConfigureAwait(false);
        if (report.Shadow is { } replay)
        {
            await stdout.WriteLineAsync(Invariant($"shadow step {replay.Result} in {replay.DurationMs:0} ms")).ConfigureAwait(false);
        }

        await stdout.WriteLineAsync(JsonSerializer.Serialize(report, JsonOutput)).ConfigureAwait(false);
    }

    private static string Describe(string role, ModelQuality? model) => model is null
        ? $"{role}: not scored"
        : Invariant($"{role + ":",-10} model {model.ModelVersion}  RMSE {model.Rmse:0.00}  MAE {model.Mae:0.00}  R² {model.R2:0.000}  (claims holdout RMSE {model.ClaimedHoldoutRmse:0.00}, R² {model.ClaimedHoldoutR2:0.000})");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
