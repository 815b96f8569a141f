using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Modes;

// dotnet run -c Release --project bench -- <mode> [options]; `--help` lists the modes, `<mode> --help` its options.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
    System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
    {
        c.Cancel = true;
        cancel.Cancel();
    });

var root = BenchCommandLine.Create(mode => mode switch
{
    "echo" => EchoMode.RunAsync,
    "predict" => PredictMode.RunAsync,
    "batch" => BatchMode.RunAsync,
    "startup" => StartupMode.RunAsync,
    "h2load" => H2loadMode.RunAsync,
    "rollout" => RolloutMode.RunAsync,
    "soak" => SoakMode.RunAsync,
    "edge" => EdgeMode.RunAsync,
    "edge-tls" => EdgeTlsMode.RunAsync,
    "fleet" => FleetMode.RunAsync,
    _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "no such mode"),
});

try
{
    return await BenchCommandLine.InvokeAsync(root, args, Console.Out, Console.Error, cancel.Token).ConfigureAwait(false);
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("bench: stopped").ConfigureAwait(false);
    return 130;
}
catch (UsageException e)
{
    await Console.Error.WriteLineAsync($"bench: {e.Message}").ConfigureAwait(false);
    await Console.Error.WriteLineAsync("bench: run with <mode> --help for the mode's options").ConfigureAwait(false);
    return 2;
}
