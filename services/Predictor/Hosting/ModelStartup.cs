using System.Diagnostics;
using Microsoft.Extensions.Options;
using StudentPerformance.Predictor.Grpc;
using StudentPerformance.Predictor.Model;

namespace StudentPerformance.Predictor.Hosting;

/// <summary>Where the served model comes from. The default reads the model file; tests may hold it back.</summary>
public interface IModelSource
{
    /// <summary>Loads a model; throws <see cref="ModelLoadException"/> naming the path and reason when it cannot.</summary>
    ModelBundle Load(string path);
}

internal sealed class FileModelSource : IModelSource
{
    public ModelBundle Load(string path) => ModelBundle.Load(path);
}

/// <summary>
/// Loads and warms the model in the background while the server starts, so health answers NOT_SERVING while it
/// loads and SERVING only when a prediction has already run. A model that cannot be loaded stops the process with
/// one log line naming the path and the reason, and exit code 1. Health turns NOT_SERVING as shutdown begins.
/// </summary>
public sealed partial class ModelStartup(
    IModelSource source,
    ServingState state,
    IOptions<PredictorOptions> options,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<ModelStartup> logger) : IHostedService
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loading = Task.CompletedTask;

    /// <summary>The process exit code this step asks for: 0, or 1 when the model could not be served.</summary>
    public int ExitCode { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => _started.TrySetResult());
        lifetime.ApplicationStopping.Register(() =>
        {
            state.MarkStopping();
            Log.Draining(logger, options.Value.DrainTimeout.TotalSeconds);
        });

        // The model loads while Kestrel binds; health stays NOT_SERVING until it is warmed.
        _loading = Task.Run(LoadAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _started.TrySetResult();
        return _loading.WaitAsync(cancellationToken);
    }

    private async Task LoadAsync()
    {
        var path = Path.GetFullPath(options.Value.ModelPath);
        try
        {
            var started = time.GetTimestamp();
            var bundle = source.Load(path);
            var model = ServingModel.Create(bundle, options.Value.MaxBatchSize);
            var loaded = time.GetElapsedTime(started);

            // One real prediction first, so the first caller does not pay for JIT and lazy ML.NET setup.
            var sample = model.SampleStudent();
            _ = bundle.Predict(in sample);
            var warmed = time.GetElapsedTime(started) - loaded;

            state.MarkServing(model);
            Log.Serving(logger, model.Version, path, loaded.TotalMilliseconds, warmed.TotalMilliseconds, SinceProcessStart().TotalMilliseconds);
        }
        catch (ModelLoadException ex)
        {
            await FailAsync(string.IsNullOrEmpty(ex.ModelPath) ? path : ex.ModelPath, ex.Reason).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the process must not sit NOT_SERVING forever: say why in one line and exit.
            await FailAsync(path, ex.Message).ConfigureAwait(false);
        }
    }

    private async Task FailAsync(string path, string reason)
    {
        Log.ModelUnusable(logger, path, reason);
        ExitCode = 1;

        // Stopping a host that is still starting makes its start fail with a second, noisier error; wait for it.
        await _started.Task.ConfigureAwait(false);
        lifetime.StopApplication();
    }

    private TimeSpan SinceProcessStart()
    {
        using var process = Process.GetCurrentProcess();
        return time.GetUtcNow() - process.StartTime.ToUniversalTime();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information,
            "SERVING model {ModelVersion} from {ModelPath}: loaded in {LoadMs:F0} ms, warmed in {WarmMs:F0} ms, {SinceStartMs:F0} ms after process start")]
        public static partial void Serving(ILogger logger, string modelVersion, string modelPath, double loadMs, double warmMs, double sinceStartMs);

        [LoggerMessage(3, LogLevel.Information, "NOT_SERVING: shutting down; in-flight calls have {DrainSeconds:F0} s to finish")]
        public static partial void Draining(ILogger logger, double drainSeconds);

        [LoggerMessage(2, LogLevel.Critical, "Cannot serve model {ModelPath}: {Reason}. Exiting.")]
        public static partial void ModelUnusable(ILogger logger, string modelPath, string reason);
    }
}
