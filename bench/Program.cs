using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Modes;

// dotnet run -c Release --project bench -- <mode> [options]; docs/benchmarks.md has the commands.
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

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage.Text);
    return 0;
}

try
{
    var options = new Options(args[1..]);
    return args[0] switch
    {
        "echo" => await EchoMode.RunAsync(options, cancel.Token),
        "predict" => await PredictMode.RunAsync(options, cancel.Token),
        "batch" => await BatchMode.RunAsync(options, cancel.Token),
        "startup" => await StartupMode.RunAsync(options, cancel.Token),
        "h2load" => await H2loadMode.RunAsync(options, cancel.Token),
        "rollout" => await RolloutMode.RunAsync(options, cancel.Token),
        "edge" => await EdgeMode.RunAsync(options, cancel.Token),
        _ => throw new UsageException($"unknown mode '{args[0]}'"),
    };
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("bench: stopped");
    return 130;
}
catch (UsageException e)
{
    Console.Error.WriteLine($"bench: {e.Message}");
    Console.Error.WriteLine("bench: run with --help for the modes and options");
    return 2;
}
