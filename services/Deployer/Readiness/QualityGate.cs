using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using StudentPerformance.Features;
using StudentPerformance.V1;

namespace StudentPerformance.Deployer.Readiness;

/// <summary>One model's figures on the golden set, with what it claims about itself in <c>GetModelInfo</c>.</summary>
public sealed record ModelQuality(string ModelVersion, double Rmse, double Mae, double R2, double? ClaimedHoldoutRmse, double? ClaimedHoldoutR2);

/// <summary>
/// The outcome of one quality gate, as /status, the webhook and the <c>evaluate</c> command show it.
/// <see cref="Live"/> is null when there was nothing to compare with; <see cref="LiveNote"/> says why.
/// </summary>
public sealed record QualityGateReport(
    string? RolloutId,
    string Result,
    DateTimeOffset EvaluatedAt,
    double DurationMs,
    int Rows,
    string GoldenSetSha256,
    ModelQuality? Candidate,
    ModelQuality? Live,
    string? LiveNote,
    IReadOnlyList<string> Refusals,
    IReadOnlyList<string> Warnings)
{
    public const string PassedResult = "passed";
    public const string RefusedResult = "refused";

    /// <summary>The result of a report made for the shadow step alone, while the labelled gate is off.</summary>
    public const string OffResult = "off";

    public bool Passed => Result == PassedResult;

    /// <summary>The paired bootstrap interval of RMSE(candidate) − RMSE(live); null without a live model.</summary>
    public RmseDifference? RmseDifference { get; init; }

    /// <summary>The increase the interval is judged against: live RMSE × <c>MaxRelativeRmseIncrease</c>.</summary>
    public double? AllowedRmseIncrease { get; init; }

    /// <summary>Per-slice RMSE of both models, for every categorical value with at least <c>MinSliceRows</c> rows.</summary>
    public IReadOnlyList<SliceQuality> Slices { get; init; } = [];

    /// <summary>The second half: the replay of recent real inputs (null until it ran, or when it is off).</summary>
    public ShadowReport? Shadow { get; init; }
}

/// <summary>
/// The model-quality gate: scores the candidate (and the live model, when there is one) on the golden set with
/// <c>PredictBatch</c>, then applies <see cref="QualityRules"/>. Used by the rollout's preflight and by the
/// <c>evaluate</c> command, so CI and the host judge an image the same way.
/// </summary>
public sealed class QualityGate
{
    private readonly QualityGateOptions _options;
    private readonly GoldenSetCache _goldenSets;
    private readonly TimeProvider _time;
    private readonly ILogger<QualityGate> _logger;

    public QualityGate(IOptions<QualityGateOptions> options, GoldenSetCache goldenSets, TimeProvider time, ILogger<QualityGate> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _goldenSets = goldenSets;
        _time = time;
        _logger = logger;
        if (_options.IsEnabled)
        {
            var golden = goldenSets.Get(_options);
            Log.QualityGateLoaded(logger, golden.Rows.Count, golden.Path, golden.Sha256);
        }
        else
        {
            Log.QualityGateOff(logger, _options.Enabled == false
                ? $"{QualityGateOptions.Key(nameof(QualityGateOptions.Enabled))} is false"
                : $"{QualityGateOptions.Key(nameof(QualityGateOptions.GoldenSetPath))} is not set");
        }
    }

    public bool Enabled => _options.IsEnabled;

    /// <summary>
    /// Scores <paramref name="candidate"/> and, unless it is null, <paramref name="live"/>; never throws for a model that
    /// fails to answer. A candidate that cannot score the set is refused; a live model that cannot leaves the absolute
    /// limits only. <paramref name="noLiveReason"/> says why <paramref name="live"/> is null.
    /// </summary>
    public async Task<QualityGateReport> EvaluateAsync(string? rolloutId, Uri candidate, Uri? live, string? noLiveReason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var started = _time.GetTimestamp();
        var golden = _goldenSets.Get(_options);
        var candidateTask = ScoreAsync(candidate, golden, cancellationToken);
        var liveTask = live is null ? Task.FromResult(Scored.Failed("")) : ScoreAsync(live, golden, cancellationToken);
        await Task.WhenAll(candidateTask, liveTask).ConfigureAwait(false);
        var candidateScored = candidateTask.Result;
        var liveScored = live is null ? null : liveTask.Result;

        var liveNote = live is null ? noLiveReason ?? "no live model: absolute limits only" : null;
        if (liveScored?.Error is { } liveError)
        {
            liveNote = $"the live model could not score the golden set ({liveError}): absolute limits only";
            liveScored = null;
        }

        var verdict = candidateScored.Error is { } candidateError
            ? new QualityVerdict([$"the candidate could not score the golden set: {candidateError}"], [])
            : QualityRules.Judge(_options, golden, candidateScored.Scores!, candidateScored.Predictions!,
                candidateScored.Info!.ClaimedHoldoutRmse, liveScored?.Scores, liveScored?.Predictions);

        var report = new QualityGateReport(
            rolloutId,
            verdict.Passed ? QualityGateReport.PassedResult : QualityGateReport.RefusedResult,
            _time.GetUtcNow(),
            _time.GetElapsedTime(started).TotalMilliseconds,
            golden.Rows.Count,
            golden.Sha256,
            candidateScored.Info,
            liveScored?.Info,
            liveNote,
            verdict.Refusals,
            verdict.Warnings)
        {
            RmseDifference = verdict.RmseDifference,
            AllowedRmseIncrease = verdict.AllowedRmseIncrease,
            Slices = verdict.Slices,
        };
        LogReport(report);
        return report;
    }

    private void LogReport(QualityGateReport report)
    {
        var id = report.RolloutId ?? "evaluate";
        if (report.Candidate is { } c && report.Live is { } l)
        {
            Log.QualityFigures(_logger, id, report.Rows, c.ModelVersion, c.Rmse, c.Mae, c.R2, l.ModelVersion, l.Rmse, l.Mae, l.R2, report.DurationMs);
        }
        else if (report.Candidate is { } candidateOnly)
        {
            Log.QualityFiguresCandidateOnly(_logger, id, report.Rows, candidateOnly.ModelVersion, candidateOnly.Rmse, candidateOnly.Mae, candidateOnly.R2, report.DurationMs);
        }

        if (report.RmseDifference is { } d)
        {
            Log.QualityInterval(_logger, id, d.Observed, d.Confidence, d.Lower, d.Upper, report.AllowedRmseIncrease ?? 0, report.Slices.Count);
        }

        if (report.LiveNote is { } note)
        {
            Log.QualityNoLive(_logger, id, note);
        }

        foreach (var warning in report.Warnings)
        {
            Log.QualityWarning(_logger, id, warning);
        }

        if (report.Passed)
        {
            Log.QualityPassed(_logger, id);
        }
        else
        {
            Log.QualityRefused(_logger, id, string.Join("; ", report.Refusals));
        }
    }

    private async Task<Scored> ScoreAsync(Uri address, GoldenSet golden, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { ConnectTimeout = _options.Timeout, PooledConnectionLifetime = TimeSpan.Zero },
            DisposeHttpClient = true,
        });
        var client = new Predictor.PredictorClient(channel);
        // The golden rows are not client traffic: kept out of the live model's sample of recent inputs.
        var headers = new Metadata { { ShadowSample.ReplayHeader, "1" } };
        try
        {
            var info = await client.GetModelInfoAsync(new GetModelInfoRequest(), headers, cancellationToken: linked.Token).ConfigureAwait(false);
            var chunk = info.MaxBatchSize > 0 ? info.MaxBatchSize : golden.Rows.Count;
            var predictions = new List<double>(golden.Rows.Count);
            for (var start = 0; start < golden.Rows.Count; start += chunk)
            {
                var request = new PredictBatchRequest();
                request.Students.AddRange(golden.Rows.Skip(start).Take(chunk).Select(r => r.Student));
                var reply = await client.PredictBatchAsync(request, headers, cancellationToken: linked.Token).ConfigureAwait(false);
                if (reply.MathScores.Count != request.Students.Count)
                {
                    return Scored.Failed($"PredictBatch answered {reply.MathScores.Count} scores for {request.Students.Count} students");
                }

                predictions.AddRange(reply.MathScores);
            }

            var scores = RegressionScores.Compute(golden.Expected, predictions);
            var holdout = info.Holdout;
            var quality = new ModelQuality(info.ModelVersion, scores.Rmse, scores.Mae, scores.R2,
                holdout is { Rmse: > 0 } ? holdout.Rmse : null, holdout is { Rmse: > 0 } ? holdout.R2 : null);
            return new Scored(quality, scores, predictions, null);
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return Scored.Failed(timeout.IsCancellationRequested
                ? $"no answer within {QualityGateOptions.Key(nameof(QualityGateOptions.Timeout))} ({_options.Timeout})"
                : ex is RpcException rpc ? $"{rpc.StatusCode} {rpc.Status.Detail}" : ex.Message);
        }
    }

    private sealed record Scored(ModelQuality? Info, RegressionScores? Scores, IReadOnlyList<double>? Predictions, string? Error)
    {
        public static Scored Failed(string error) => new(null, null, null, error);
    }
}

/// <summary>The golden set, read once: at start by the options validator, so a bad set stops the deployer there.</summary>
public sealed class GoldenSetCache
{
    private readonly Lock _gate = new();
    private GoldenSet? _set;

    /// <summary>The set named by <paramref name="options"/>; throws <see cref="GoldenSetException"/> when it is unusable.</summary>
    public GoldenSet Get(QualityGateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = options.ResolvedGoldenSetPath;
        lock (_gate)
        {
            if (_set is null || _set.Path != path)
            {
                _set = GoldenSetReader.Load(path, options.MinRows);
            }

            return _set;
        }
    }
}

/// <summary>The last gate's report, for /status and the webhook.</summary>
public sealed class QualityGateHistory
{
    private QualityGateReport? _last;

    public QualityGateReport? Last => Volatile.Read(ref _last);

    public void Record(QualityGateReport report) => Volatile.Write(ref _last, report);

    /// <summary>
    /// Adds the shadow step's report to the labelled gate's report of the same rollout, or, when the labelled gate
    /// did not run (it is off), records a report of its own with result <c>off</c> that carries it.
    /// </summary>
    public void RecordShadow(string rolloutId, ShadowReport shadow, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        var labelled = ForRollout(rolloutId)
            ?? new QualityGateReport(rolloutId, QualityGateReport.OffResult, time.GetUtcNow(), 0, 0, "", null, null,
                $"the labelled gate is off ({QualityGateOptions.Key(nameof(QualityGateOptions.Enabled))})", [], []);
        Record(labelled with { Shadow = shadow });
    }

    /// <summary>The last report if it belongs to <paramref name="rolloutId"/>.</summary>
    public QualityGateReport? ForRollout(string rolloutId) => Last is { } last && last.RolloutId == rolloutId ? last : null;
}
