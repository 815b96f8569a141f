using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace StudentPerformance.Deployer.Admin;

/// <summary>
/// <c>Deployer status [--url URL] [--watch]</c>: the dashboard's facts in a terminal, read from a running deployer's
/// GET /status. <c>--watch</c> follows the rollout in progress step by step until it ends, as
/// <c>kubectl rollout status</c> does. The exit code says how the last rollout ended.
/// </summary>
public static class StatusCommand
{
    /// <summary>The last rollout succeeded, or there has been none.</summary>
    public const int Succeeded = 0;

    /// <summary>The last rollout was refused, rolled back, failed or interrupted.</summary>
    public const int NotSucceeded = 1;

    /// <summary>The deployer did not answer, or refused the token.</summary>
    public const int Unreachable = 3;

    /// <summary><c>--watch</c> gave up after <c>--timeout</c> with the rollout still running.</summary>
    public const int TimedOut = 4;

    /// <summary>Bad arguments (as for every command).</summary>
    public const int UsageError = 2;

    public static Command Create()
    {
        var url = AdminCliOptions.Url();
        var watch = new Option<bool>("--watch", "-w") { Description = "Follow the rollout in progress step by step until it ends." };
        var interval = TimeOption("--interval", "How often --watch asks for /status.", TimeSpan.FromSeconds(1));
        var timeout = TimeOption("--timeout", "How long --watch follows a rollout before it gives up (exit 4).", TimeSpan.FromMinutes(30));
        var tokenFile = new Option<FileInfo?>("--token-file")
        {
            Description = "A file holding the admin API's bearer token, when the deployer asks for one (default: the deployer's own, $Deployer__Admin__TokenFile or admin-token in its state directory, when readable). The token is never printed.",
            HelpName = "path",
        };
        var command = new Command(
            "status",
            "Prints the live slot, the rollout in progress, the last rollouts with their steps, the quality gate, the edge and the warnings. "
            + "Exit 0: the last rollout succeeded (or there was none); 1: it did not; 3: the deployer did not answer; 4: --watch timed out.")
        {
            url, watch, interval, timeout, tokenFile,
        };
        command.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            string? token = null;
            if (parse.GetValue(tokenFile) is null)
            {
                // Where the deployer keeps it (its setting, else its state directory), as `Deployer probe` reads it:
                // used when this user may read it, else no token is sent.
                token = await ReadTokenOrNullAsync(ProbeCommand.DefaultTokenFile(), ct).ConfigureAwait(false);
            }
            else if (parse.GetValue(tokenFile) is { } file)
            {
                try
                {
                    token = (await File.ReadAllTextAsync(file.FullName, ct).ConfigureAwait(false)).Trim();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    await error.WriteLineAsync($"--token-file: {ex.Message}").ConfigureAwait(false);
                    return UsageError;
                }
            }

            using var client = new StatusClient(parse.GetValue(url)!, token);
            return parse.GetValue(watch)
                ? await WatchAsync(client, output, error, parse.GetValue(interval), parse.GetValue(timeout), TimeProvider.System, ct).ConfigureAwait(false)
                : await ShowAsync(client, output, error, ct).ConfigureAwait(false);
        });
        return command;
    }

    public static async Task<int> ShowAsync(StatusClient client, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var read = await client.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (read.Status is not { } status)
        {
            await error.WriteLineAsync(read.Error).ConfigureAwait(false);
            return Unreachable;
        }

        await output.WriteAsync(StatusText.Summary(status)).ConfigureAwait(false);
        return ExitCode(status);
    }

    /// <summary>
    /// Follows the rollout in progress: prints each step as it starts and ends, then the outcome, and exits with it.
    /// With no rollout in progress it prints the summary and exits at once, as <c>kubectl rollout status</c> does for a
    /// finished rollout. A deployer that stops answering mid-watch is asked again until <paramref name="timeout"/>.
    /// </summary>
    public static async Task<int> WatchAsync(StatusClient client, TextWriter output, TextWriter error, TimeSpan interval, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(time);
        var started = time.GetTimestamp();
        var first = await client.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (first.Status is not { } status)
        {
            await error.WriteLineAsync(first.Error).ConfigureAwait(false);
            return Unreachable;
        }

        if (StatusText.ActiveRollout(status) is not { } active)
        {
            await output.WriteAsync(StatusText.Summary(status)).ConfigureAwait(false);
            return ExitCode(status);
        }

        var id = active.GetProperty("id").GetString()!;
        await output.WriteLineAsync($"Following rollout {id}: {StatusText.Str(active, "kind")} of {StatusText.Str(active, "digest")}").ConfigureAwait(false);
        var printed = new StepPrinter();
        string? lastError = null;
        while (true)
        {
            if (StatusText.Entry(status, id) is { } entry)
            {
                foreach (var line in printed.NewLines(entry))
                {
                    await output.WriteLineAsync(line).ConfigureAwait(false);
                }

                if (StatusText.Str(entry, "outcome") is { } outcome)
                {
                    await output.WriteLineAsync(StatusText.Finished(entry, status)).ConfigureAwait(false);
                    return outcome == "Succeeded" ? Succeeded : NotSucceeded;
                }

                if (entry.TryGetProperty("interrupted", out var interrupted) && interrupted.ValueKind == JsonValueKind.True)
                {
                    await output.WriteLineAsync($"rollout {id} was interrupted: the deployer restarted during it").ConfigureAwait(false);
                    return NotSucceeded;
                }
            }
            else
            {
                await output.WriteLineAsync($"rollout {id} is no longer in the history").ConfigureAwait(false);
                return ExitCode(status);
            }

            if (time.GetElapsedTime(started) > timeout)
            {
                await error.WriteLineAsync($"rollout {id} still runs after --timeout {timeout}").ConfigureAwait(false);
                return TimedOut;
            }

            await Task.Delay(interval, time, cancellationToken).ConfigureAwait(false);
            var next = await client.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (next.Status is { } fresh)
            {
                status = fresh;
                lastError = null;
            }
            else if (next.Error != lastError)
            {
                // Said once, not at every poll; the watch goes on until the deployer answers or the timeout.
                lastError = next.Error;
                await error.WriteLineAsync($"{next.Error}; asking again").ConfigureAwait(false);
            }
        }
    }

    private static async Task<string?> ReadTokenOrNullAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return (await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>0 when the last rollout succeeded or none ran; 1 when it was refused, rolled back, failed or interrupted.</summary>
    public static int ExitCode(JsonElement status)
    {
        var finished = StatusText.History(status).FirstOrDefault(e => StatusText.Str(e, "outcome") is not null || StatusText.Bool(e, "interrupted"));
        if (finished.ValueKind == JsonValueKind.Object)
        {
            return StatusText.Str(finished, "outcome") == "Succeeded" ? Succeeded : NotSucceeded;
        }

        // A deployer without a history file yet (upgraded in place) still has its last record.
        return status.TryGetProperty("lastRollout", out var last) && last.ValueKind == JsonValueKind.Object && StatusText.Str(last, "outcome") != "Succeeded"
            ? NotSucceeded
            : Succeeded;
    }

    private static Option<TimeSpan> TimeOption(string name, string description, TimeSpan defaultValue) => new(name)
    {
        Description = $"{description} Default: {defaultValue.ToString("c", CultureInfo.InvariantCulture)}.",
        HelpName = "hh:mm:ss",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > TimeSpan.Zero)
            {
                return value;
            }

            result.AddError($"{name}: '{text}' is not a positive time span such as 00:00:02.");
            return default;
        },
    };

    /// <summary>Prints each step once when it starts and once when it ends.</summary>
    private sealed class StepPrinter
    {
        private readonly HashSet<int> _started = [];
        private readonly HashSet<int> _ended = [];

        public IEnumerable<string> NewLines(JsonElement entry)
        {
            var index = 0;
            foreach (var step in entry.GetProperty("steps").EnumerateArray())
            {
                var name = StatusText.Str(step, "name");
                var outcome = StatusText.Str(step, "outcome");
                if (outcome == "Running" && _started.Add(index))
                {
                    yield return $"  {name} …";
                }
                else if (outcome != "Running" && _ended.Add(index))
                {
                    _started.Add(index);
                    var took = StatusText.Duration(StatusText.Str(step, "duration"));
                    yield return outcome == "Passed"
                        ? $"  {name} passed in {took}"
                        : $"  {name} FAILED after {took}: {StatusText.Str(step, "error")}";
                }

                index++;
            }
        }
    }
}

/// <summary>The result of one GET /status: the document, or why there is none.</summary>
public sealed record StatusRead(JsonElement? Status, string? Error);

/// <summary>GET /status with the optional bearer token; every failure becomes a message, never an exception.</summary>
public sealed class StatusClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _status;

    public StatusClient(Uri admin, string? token)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var host = admin.Host is "0.0.0.0" or "[::]" or "*" or "+" ? "127.0.0.1" : admin.Host;
        _status = new UriBuilder(admin) { Host = host, Path = "/status" }.Uri;
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        if (!string.IsNullOrEmpty(token))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public async Task<StatusRead> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(_status, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return new(null, $"{_status}: {(int)response.StatusCode}: the deployer asks for its admin token (--token-file)");
            }

            if (!response.IsSuccessStatusCode)
            {
                return new(null, $"{_status}: {(int)response.StatusCode}");
            }

            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            return new(document.RootElement.Clone(), null);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new(null, $"{_status}: {ex.Message}");
        }
    }

    public void Dispose() => _http.Dispose();
}
