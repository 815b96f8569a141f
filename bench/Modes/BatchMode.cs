using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Load;
using StudentPerformance.V1;

namespace StudentPerformance.Bench.Modes;

/// <summary><c>batch</c>: PredictBatch throughput in rows/s for each batch size (random valid students).</summary>
internal static class BatchMode
{
    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var settings = PredictMode.ReadSettings(options, connections: 1, perConnection: 2);
        var sizes = options.Ints("sizes", [1, 100, 1000, 10_000]);
        var compare = options.Flag("compare-echo");
        options.ThrowOnUnknownExcept(Target.OptionNames, RequestMix.OptionNames);
        using var target = await Target.FromOptionsAsync(options, cancellationToken).ConfigureAwait(false);
        var address = target.Address;
        settings = settings with { Address = address, ServerPid = target.Pid };
        var students = await RequestMix.FromOptionsAsync(options, address, sizes.Max(), cancellationToken).ConfigureAwait(false);

        var rows = new List<Summary>();
        var failed = false;
        (ChildProcess Child, Uri Address)? echo = compare
            ? await EchoMode.StartChildAsync((settings.Warmup + settings.Duration) * sizes.Count + TimeSpan.FromMinutes(2)).ConfigureAwait(false)
            : null;
        try
        {
            foreach (var size in sizes)
            {
                var request = new PredictBatchRequest();
                request.Students.Add(Enumerable.Range(0, size).Select(i => students[i % students.Length]));
                await CheckAsync(address, request, cancellationToken).ConfigureAwait(false);
                var result = await ClosedLoop.RunAsync(settings, Call(request), cancellationToken).ConfigureAwait(false);
                failed |= result.Failed > 0;
                rows.Add(result.Summarize($"batch {size}", size));
                if (echo is { } e)
                {
                    var er = await ClosedLoop.RunAsync(settings with { Address = e.Address, ServerPid = e.Child.Pid }, Call(request), cancellationToken).ConfigureAwait(false);
                    rows.Add(er.Summarize($"echo {size}", size));
                }
            }
        }
        finally
        {
            echo?.Child.Dispose();
        }

        Report.Table(rows);
        Report.JsonLine(new { mode = "batch", date = Report.Now(), address = address.ToString(), runs = rows });
        return failed ? 1 : 0;
    }

    private static async Task CheckAsync(Uri address, PredictBatchRequest request, CancellationToken cancellationToken)
    {
        using var channel = ClosedLoop.CreateChannel(address);
        var response = await new Predictor.PredictorClient(channel).PredictBatchAsync(request, cancellationToken: cancellationToken);
        if (response.MathScores.Count != request.Students.Count)
        {
            throw new InvalidOperationException(
                $"PredictBatch of {request.Students.Count} answered {response.MathScores.Count} scores");
        }
    }

    private static ClosedLoop.Call Call(PredictBatchRequest request) =>
        (client, _, _, options) => client.PredictBatchAsync(request, options).ResponseAsync;
}
