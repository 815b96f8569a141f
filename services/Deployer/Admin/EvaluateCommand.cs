using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Hosting;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Admin;

/// <summary>What <c>Deployer evaluate</c> was asked to do.</summary>
/// <param name="Candidate">gRPC address of the image under test.</param>
/// <param name="Live">gRPC address of the model to compare with, or null for the absolute limits only.</param>
/// <param name="Overrides">Settings given on the command line, as <c>Deployer:QualityGate:*</c> keys.</param>
/// <param name="WaitForServing">How long to wait for the candidate (and live) to answer SERVING first.</param>
public sealed record EvaluateArguments(Uri Candidate, Uri? Live, IReadOnlyDictionary<string, string?> Overrides, TimeSpan WaitForServing);

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
    public const string Usage =
        "usage: Deployer evaluate --candidate http://127.0.0.1:8000 [--live URL] [--golden F.csv] [--max-rmse 7] [--min-r2 0.75] " +
        "[--max-relative-rmse-increase 0.05] [--max-absolute-delta X] [--min-rows 50] [--wait 00:01:00]";

    private static readonly Dictionary<string, string> OptionKeys = new(StringComparer.Ordinal)
    {
        ["--golden"] = nameof(QualityGateOptions.GoldenSetPath),
        ["--max-rmse"] = nameof(QualityGateOptions.MaxRmse),
        ["--min-r2"] = nameof(QualityGateOptions.MinR2),
        ["--max-relative-rmse-increase"] = nameof(QualityGateOptions.MaxRelativeRmseIncrease),
        ["--max-absolute-delta"] = nameof(QualityGateOptions.MaxAbsoluteDelta),
        ["--min-rows"] = nameof(QualityGateOptions.MinRows),
    };

    // Readable in a CI log: "R²" and "×" as they are, not as \u escapes.
    private static readonly JsonSerializerOptions JsonOutput = new(JsonSerializerOptions.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error, CancellationToken.None);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        if (!TryParse(args, out var arguments, out var problem))
        {
            await stderr.WriteLineAsync($"evaluate: {problem}").ConfigureAwait(false);
            await stderr.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }

        return await RunAsync(arguments, stdout, stderr, TimeProvider.System, cancellationToken).ConfigureAwait(false);
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
        var options = new QualityGateOptions();
        var goldenSets = new GoldenSetCache();
        try
        {
            configuration.GetSection(QualityGateOptions.SectionName).Bind(options);
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

        // The same health probe as preflight; the default settings only feed its golden request, unused here.
        var probe = new GrpcPredictorProbe(Options.Create(new DeployerOptions()));
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
        await WriteReportAsync(report, stdout).ConfigureAwait(false);
        return report.Passed ? 0 : 1;
    }

    private static async Task WriteReportAsync(QualityGateReport report, TextWriter stdout)
    {
        await stdout.WriteLineAsync(Invariant($"golden set: {report.Rows} rows, sha256 {report.GoldenSetSha256}")).ConfigureAwait(false);
        await stdout.WriteLineAsync(Describe("candidate", report.Candidate)).ConfigureAwait(false);
        await stdout.WriteLineAsync(report.Live is null ? $"live:      {report.LiveNote}" : Describe("live", report.Live)).ConfigureAwait(false);
        foreach (var warning in report.Warnings)
        {
            await stdout.WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
        }

        foreach (var refusal in report.Refusals)
        {
            await stdout.WriteLineAsync($"REFUSED: {refusal}").ConfigureAwait(false);
        }

        await stdout.WriteLineAsync(Invariant($"quality gate {report.Result} in {report.DurationMs:0} ms")).ConfigureAwait(false);
        await stdout.WriteLineAsync(JsonSerializer.Serialize(report, JsonOutput)).ConfigureAwait(false);
    }

    private static string Describe(string role, ModelQuality? model) => model is null
        ? $"{role}: not scored"
        : Invariant($"{role + ":",-10} model {model.ModelVersion}  RMSE {model.Rmse:0.00}  MAE {model.Mae:0.00}  R² {model.R2:0.000}  (claims holdout RMSE {model.ClaimedHoldoutRmse:0.00}, R² {model.ClaimedHoldoutR2:0.000})");

    private static bool TryParse(string[] args, out EvaluateArguments arguments, out string problem)
    {
        arguments = null!;
        problem = "";
        Uri? candidate = null, live = null;
        var wait = TimeSpan.FromMinutes(1);
        var overrides = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            var name = args[i];
            if (i + 1 >= args.Length)
            {
                problem = $"{name} needs a value";
                return false;
            }

            var value = args[i + 1];
            switch (name)
            {
                case "--candidate" when TryAddress(value, out var address):
                    candidate = address;
                    break;
                case "--live" when TryAddress(value, out var address):
                    live = address;
                    break;
                case "--wait" when TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out wait) && wait >= TimeSpan.Zero:
                    break;
                case var option when OptionKeys.TryGetValue(option, out var key):
                    overrides[key] = value;
                    break;
                default:
                    problem = $"bad option '{name}' {value}";
                    return false;
            }
        }

        if (candidate is null)
        {
            problem = "--candidate is required";
            return false;
        }

        arguments = new EvaluateArguments(candidate, live, overrides, wait);
        return true;
    }

    private static bool TryAddress(string value, out Uri address) =>
        Uri.TryCreate(value, UriKind.Absolute, out address!) && address.Scheme is "http" or "https";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
