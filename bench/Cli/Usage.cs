namespace StudentPerformance.Bench.Cli;

internal static class Usage
{
    public const string Text = """
        usage: dotnet run -c Release --project bench -- <mode> [options]

        modes
          echo     --port 8001 [--max-seconds 3600]
                   a do-nothing predictor (same contract, h2c HTTP/2-only Kestrel): the stack's ceiling
          predict  [--address http://127.0.0.1:8000] [--connections 2] [--per-connection 16] [--duration 10]
                   [--warmup 3] [--requests N] [--mix fixed|random] [--seed 42] [--pid PID] [--sample-every S]
                   [--compare-echo]
                   closed-loop Predict load; --compare-echo runs the echo server with the same settings
          batch    [--address ...] [--sizes 1,100,1000,10000] [--connections 1] [--per-connection 2]
                   [--duration 10] [--warmup 3] [--pid PID] [--compare-echo]
                   PredictBatch throughput in rows/s
          startup  [--runs 5] [--command "dotnet services/Predictor/bin/Release/net10.0/Predictor.dll"]
                   [--env K=V ...] ({port} is replaced) [--echo] [--image IMAGE] [--timeout 30]
                   process (or container) start to Health SERVING, RSS then, SIGTERM to exit; median of runs
          h2load   [--address ...] [--requests 200000] [--connections 2] [--per-connection 16] [--pid PID]
                   the same Predict load from nghttp2's h2load, then from the C# client, to compare
          rollout  see README (Benchmarks): push v2 with the deployer running and probe Health every 20 ms
        """;
}
