namespace StudentPerformance.Bench.Cli;

internal static class Usage
{
    public const string Text = """
        usage: dotnet run -c Release --project bench -- <mode> [options]

        modes
          echo     --port 8001 [--max-seconds 3600]
                   a do-nothing predictor (same contract, h2c HTTP/2-only Kestrel): the stack's ceiling
          predict  [--connections 2] [--per-connection 16] [--duration 10] [--warmup 3] [--requests N]
                   [--mix fixed|random] [--seed 42] [--sample-every S] [--compare-echo] [--rounds 3]
                   closed-loop Predict load; --compare-echo alternates rounds against the echo server
          batch    [--sizes 1,100,1000,10000] [--connections 1] [--per-connection 2] [--duration 10] [--warmup 3]
                   [--compare-echo]
                   PredictBatch throughput in rows/s
          h2load   [--requests 200000] [--connections 2] [--per-connection 16] [--warmup 3] [--compare-echo]
                   [--rounds 3] [--no-client] [--frame-out FILE]
                   the same Predict load from nghttp2's h2load, then from the C# client, to compare
          startup  [--runs 5] [--command "dotnet X.dll"] [--env K=V ...] [--echo] [--image IMAGE] [--timeout 30]
                   process (or container) start to Health SERVING, CPU and RSS then, SIGTERM to exit; medians
          rollout  --v1-image IMG --v2-image IMG [--port 8000] [--interval 0.02] [--timeout 180]
                   [--deployer-command "dotnet services/Deployer/bin/Release/net10.0/Deployer.dll"]
                   [--deployer-env K=V ...] [--no-bad]
                   local registry + deployer; push v2, then bad images with and without preflight; 20 ms prober
          edge     [--switches 5] [--methods recreate,runtime,reload] [--interval 0.02] [--deadline 0.5]
                   [--requests 50000] [--rounds 3] [--latency-seconds 5] [--haproxy haproxy] [--python /usr/bin/python3]
                   blue/green behind haproxy on loopback (docs/edge.md): failed calls of three clients per switch
                   method, then Predict throughput and p50 through the edge vs direct

        the server under test (predict, batch, h2load)
          --address http://127.0.0.1:8000 [--pid PID]   a running predictor (pid: its CPU and RSS from /proc)
          --start | --command "dotnet X.dll" [--env K=V ...]
                   start the Release predictor (or the command) on free loopback ports, stop it at the end
        """;
}
