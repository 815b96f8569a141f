using System.Globalization;
using System.Text.RegularExpressions;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using StudentPerformance.Features;
using StudentPerformance.V1;

namespace StudentPerformance.Deployer.Readiness;

/// <summary>A sample of recent inputs, or why there is none.</summary>
public sealed record InputSampleResult(IReadOnlyList<Student> Students, string Source, string? Problem);

/// <summary>
/// The shadow step's mechanism: fetches a predictor's sample of recent inputs from its admin endpoint (or reads a
/// recorded one), replays it through <c>PredictBatch</c> on the candidate and the live model at once, and applies
/// <see cref="ShadowRules"/>. Replayed calls carry <see cref="ShadowSample.ReplayHeader"/>, so they never enter the
/// sample themselves. Never throws for a model or endpoint that fails to answer: the report says what happened.
/// </summary>
public sealed partial class ShadowGate : IDisposable
{
    private readonly ShadowGateOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ShadowGate> _logger;
    private readonly HttpClient _http;

    public ShadowGate(IOptions<ShadowGateOptions> options, TimeProvider time, ILogger<ShadowGate> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = _options.Timeout, PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public bool Enabled => _options.Enabled;

    public ShadowGateOptions Options => _options;

    /// <summary>GET <see cref="ShadowSample.Path"/> on <paramref name="admin"/>, bounded by <c>Deployer:ShadowGate:Timeout</c>.</summary>
    public async Task<InputSampleResult> FetchSampleAsync(Uri admin, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var source = new Uri(admin, ShadowSample.Path).ToString();
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _http.GetAsync(new Uri(admin, ShadowSample.Path), linked.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return new InputSampleResult([], source, $"{source} answered {(int)response.StatusCode} {body.Trim()}".TrimEnd());
            }

            return Parse(new StringReader(body), source);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new InputSampleResult([], source, timeout.IsCancellationRequested
                ? $"{source} did not answer within {ShadowGateOptions.Key(nameof(ShadowGateOptions.Timeout))} ({_options.Timeout})"
                : $"{source} cannot be reached: {ex.Message}");
        }
    }

    /// <summary>Reads a recorded sample: the CSV the admin endpoint serves (inputs only; a math_score column is ignored).</summary>
    public static InputSampleResult ReadSampleFile(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            return Parse(reader, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new InputSampleResult([], path, $"'{path}' cannot be read: {ex.Message}");
        }
    }

    private static InputSampleResult Parse(TextReader reader, string source)
    {
        try
        {
            var file = StudentCsv.Parse(reader, requireLabel: false);
            return file.Errors.Count > 0
                ? new InputSampleResult([], source, $"'{source}' {file.Errors[0]}")
                : new InputSampleResult([.. file.Rows.Select(GoldenSetReader.ToStudent)], source, null);
        }
        catch (CsvFormatException ex)
        {
            return new InputSampleResult([], source, $"'{source}': {ex.Message}");
        }
    }

    /// <summary>
    /// Replays <paramref name="sample"/> through both models and judges the candidate. With fewer than
    /// <c>MinSamples</c> inputs, or a sample that could not be had, the step is skipped with a warning.
    /// </summary>
    public async Task<ShadowReport> EvaluateAsync(string? rolloutId, Uri candidate, Uri live, InputSampleResult sample, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(live);
        ArgumentNullException.ThrowIfNull(sample);
        var id = rolloutId ?? "evaluate";
        var started = _time.GetTimestamp();
        ShadowReport report;
        if (sample.Problem is { } problem)
        {
            report = ShadowReport.Skipped(0, _options.Tolerance, $"shadow step skipped: no sample of recent inputs ({problem})");
        }
        else if (sample.Students.Count < _options.MinSamples)
        {
            report = ShadowReport.Skipped(sample.Students.Count, _options.Tolerance, string.Create(CultureInfo.InvariantCulture,
                $"shadow step skipped: the sample holds {sample.Students.Count} recent inputs, fewer than {ShadowGateOptions.Key(nameof(ShadowGateOptions.MinSamples))} ({_options.MinSamples})"));
        }
        else
        {
            var candidateTask = ReplayAsync(candidate, sample.Students, cancellationToken);
            var liveTask = ReplayAsync(live, sample.Students, cancellationToken);
            await Task.WhenAll(candidateTask, liveTask).ConfigureAwait(false);
            var (candidateAnswers, candidateError) = candidateTask.Result;
            var (liveAnswers, liveError) = liveTask.Result;
            report = candidateError is not null
                ? new ShadowReport(ShadowReport.RefusedResult, sample.Students.Count, 0, 0, 0, null, null, null, _options.Tolerance,
                    [$"the candidate could not answer the replay: {candidateError}"], [])
                : liveError is not null
                    ? ShadowReport.Skipped(sample.Students.Count, _options.Tolerance, $"shadow step skipped: the live model could not answer the replay ({liveError})")
                    : ShadowRules.Judge(_options, candidateAnswers!, liveAnswers!);
        }

        report = report with { DurationMs = _time.GetElapsedTime(started).TotalMilliseconds, Source = sample.Source };
        LogReport(id, report);
        return report;
    }

    private void LogReport(string id, ShadowReport report)
    {
        if (report.AbsoluteDelta is { } delta)
        {
            Log.ShadowFigures(_logger, id, report.Compared, report.CandidateRejected, delta.P50, delta.P95, delta.P99, delta.Max,
                report.ShareBeyondTolerance ?? 0, report.Ks ?? 0, report.DurationMs);
        }

        foreach (var warning in report.Warnings)
        {
            Log.ShadowWarning(_logger, id, warning);
        }

        if (report.Refused)
        {
            Log.ShadowRefused(_logger, id, string.Join("; ", report.Refusals));
        }
        else if (report.Result == ShadowReport.PassedResult)
        {
            Log.ShadowPassed(_logger, id);
        }
    }

    /// <summary>
    /// One model's answers, in sample order; null for an input it rejects. A batch refused with INVALID_ARGUMENT
    /// names the rejected students in its BadRequest field violations (<c>students[i].field</c>); they are set aside
    /// and the rest of the batch sent again. The predictor names at most 20 violations an answer, so this repeats while
    /// each answer names at least one more rejected student (every round removes one row or more, so it ends).
    /// </summary>
    private async Task<(double?[]? Answers, string? Error)> ReplayAsync(Uri address, IReadOnlyList<Student> students, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { ConnectTimeout = _options.Timeout, PooledConnectionLifetime = TimeSpan.Zero },
            DisposeHttpClient = true,
        });
        var client = new Predictor.PredictorClient(channel);
        var headers = new Metadata { { ShadowSample.ReplayHeader, "1" } };
        var answers = new double?[students.Count];
        try
        {
            var info = await client.GetModelInfoAsync(new GetModelInfoRequest(), headers, cancellationToken: linked.Token).ConfigureAwait(false);
            var chunk = info.MaxBatchSize > 0 ? info.MaxBatchSize : students.Count;
            for (var start = 0; start < students.Count; start += chunk)
            {
                var rows = Enumerable.Range(start, Math.Min(chunk, students.Count - start)).ToList();
                while (true)
                {
                    var request = new PredictBatchRequest();
                    request.Students.AddRange(rows.Select(r => students[r]));
                    try
                    {
                        var reply = await client.PredictBatchAsync(request, headers, cancellationToken: linked.Token).ConfigureAwait(false);
                        if (reply.MathScores.Count != rows.Count)
                        {
                            return (null, $"PredictBatch answered {reply.MathScores.Count} scores for {rows.Count} students");
                        }

                        for (var i = 0; i < rows.Count; i++)
                        {
                            answers[rows[i]] = reply.MathScores[i];
                        }

                        break;
                    }
                    catch (RpcException ex) when (ex.StatusCode == StatusCode.InvalidArgument && RejectedIndices(ex, rows.Count) is { Count: > 0 } rejected)
                    {
                        rows = [.. rows.Where((_, i) => !rejected.Contains(i))];
                        if (rows.Count == 0)
                        {
                            break;
                        }
                    }
                }
            }

            return (answers, null);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (null, timeout.IsCancellationRequested
                ? $"no answer within {ShadowGateOptions.Key(nameof(ShadowGateOptions.Timeout))} ({_options.Timeout})"
                : ex is RpcException rpc ? $"{rpc.StatusCode} {rpc.Status.Detail}" : ex.Message);
        }
    }

    /// <summary>The batch positions named by the google.rpc.BadRequest field violations of <paramref name="error"/>.</summary>
    internal static HashSet<int> RejectedIndices(RpcException error, int batchSize)
    {
        var indices = new HashSet<int>();
        var details = error.Trailers.GetValueBytes("grpc-status-details-bin");
        if (details is null)
        {
            return indices;
        }

        var status = Google.Rpc.Status.Parser.ParseFrom(details);
        foreach (var any in status.Details)
        {
            if (!any.TryUnpack<BadRequest>(out var badRequest))
            {
                continue;
            }

            foreach (var violation in badRequest.FieldViolations)
            {
                if (StudentIndex().Match(violation.Field) is { Success: true } match
                    && int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                    && index < batchSize)
                {
                    indices.Add(index);
                }
            }
        }

        return indices;
    }

    [GeneratedRegex(@"^students\[(\d+)\]")]
    private static partial Regex StudentIndex();

    public void Dispose() => _http.Dispose();
}
