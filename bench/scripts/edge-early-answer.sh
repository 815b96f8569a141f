#!/usr/bin/env bash
# The edge's lost call (docs/edge.md, "Fixed: a call cut on a starved host"), reproduced on demand. Debian's haproxy
# (the edge's 2.6) on loopback in front of one of three Kestrel h2c slots that answer grpc.health.v1 Health/Check:
#   early  answers without reading the request, as the unit tests' SlotServer did: when the request's DATA frame has
#          not come yet, Kestrel resets the stream with NO_ERROR right after its complete answer;
#   reads  reads the request to its end first, then answers;
#   grpc   grpc-dotnet's own Health service (and reflection), the predictor's stack: a unary call's handler runs once
#          the request has been read.
# Part 1, the mechanism: GAP_CALLS calls on one HttpClient (HTTP/2), each sending HEADERS and then its 5-byte request
# body GAP_MS later (a client thread that is late to write the body, as on a starved host), per slot and target:
#   direct          the slot itself, no edge
#   edge            the configuration HaproxyConfig renders (copied here, as in edge-hop-ab.sh)
#   edge-noretry    the same without "retry-on conn-failure empty-response"
#   edge-noobserve  the same without "observe layer4 error-limit 1 on-error mark-down"
#   edge-buffer     the same with "option http-buffer-request" (the edge waits for the whole request)
# then the same calls to a method the grpc slot lacks (grpc-dotnet answers UNIMPLEMENTED before reading the request),
# and one reflection stream left open after its request, as grpcurl's (answered within 3 s, or not).
# Part 2, the race as the tests met it: ROUNDS rounds of LOOP_CALLS calls one at a time on one long-lived
# Grpc.Net.Client channel (no gap of our own) through "edge", alternating the early and reads slots, with BUSY busy
# loops beside them. Prints each run's counts (cut = RST_STREAM CANCEL) and the load average; haproxy logs every
# failed call (option httplog, dontlog-normal) to $work/haproxy-*.log, kept with KEEP=1.
#
#   bench/scripts/edge-early-answer.sh [GAP_CALLS] [GAP_MS] [LOOP_CALLS] [ROUNDS] [BUSY]
#   e.g. bench/scripts/edge-early-answer.sh 200 5 100000 3 0
#
# Needs haproxy (apt: haproxy), the .NET SDK (a file-based app, built here, with grpc-dotnet from NuGet) and python3.
set -euo pipefail
gap_calls=${1:-200}
gap_ms=${2:-5}
loop_calls=${3:-100000}
rounds=${4:-3}
busy=${5:-0}
work=$(mktemp -d /tmp/edge-early-answer.XXXXXX)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

mkdir -p "$work/app"
cat > "$work/app/early.cs" <<'EOF'
#:sdk Microsoft.NET.Sdk.Web
#:package Grpc.Net.Client@2.85.0
#:package Grpc.AspNetCore@2.85.0
#:package Grpc.AspNetCore.Server.Reflection@2.85.0
#:package Grpc.HealthCheck@2.85.0
#:property PublishAot=false
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

switch (args[0])
{
    case "slot":
    {
        // slot GRPC_PORT HTTP_PORT early|reads|grpc
        var kind = args[3];
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, int.Parse(args[1]), o => o.Protocols = HttpProtocols.Http2);
            k.Listen(IPAddress.Loopback, int.Parse(args[2]), o => o.Protocols = HttpProtocols.Http1);
        });
        var health = new Grpc.HealthCheck.HealthServiceImpl();
        health.SetStatus("", Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        builder.Services.AddSingleton(health);
        builder.Services.AddGrpc();
        builder.Services.AddGrpcReflection();
        var app = builder.Build();
        if (kind == "grpc")
        {
            app.MapGrpcService<Grpc.HealthCheck.HealthServiceImpl>();
            app.MapGrpcReflectionService();
        }
        else
        {
            app.MapPost("/grpc.health.v1.Health/Check", async context =>
            {
                if (kind == "reads")
                {
                    await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
                }

                context.Response.ContentType = "application/grpc";
                // HealthCheckResponse { status: SERVING }, one uncompressed message.
                await context.Response.Body.WriteAsync(new byte[] { 0, 0, 0, 0, 2, 0x08, 0x01 });
                context.Response.AppendTrailer("grpc-status", "0");
            });
        }

        app.MapGet("/readyz", () => "SERVING");
        await app.StartAsync();
        Console.WriteLine("listening");
        await app.WaitForShutdownAsync();
        return 0;
    }
    case "gap":
    {
        // gap URL CALLS GAP_MS [PATH STATUS]: HEADERS, then the body GAP_MS later, one call at a time on one HTTP/2
        // connection; the answer must carry grpc-status STATUS (0: and SERVING).
        var (url, calls, gapMs) = (args[1], int.Parse(args[2]), int.Parse(args[3]));
        var (path, expected) = args.Length > 5 ? (args[4], args[5]) : ("/grpc.health.v1.Health/Check", "0");
        using var http = new HttpClient();
        var failures = new Dictionary<string, int>();
        for (var i = 0; i < calls; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url + path)
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new LateBody(new byte[5], gapMs),
            };
            request.Content.Headers.ContentType = new("application/grpc");
            request.Headers.TryAddWithoutValidation("te", "trailers");
            try
            {
                using var response = await http.SendAsync(request);
                var body = await response.Content.ReadAsByteArrayAsync();
                // A trailers-only answer (an error) carries grpc-status in its headers.
                var status = response.TrailingHeaders.TryGetValues("grpc-status", out var trailer) ? trailer.Single()
                    : response.Headers.TryGetValues("grpc-status", out var header) ? header.Single() : "none";
                if (status != expected || (expected == "0" && body.Length != 7))
                {
                    throw new InvalidOperationException($"a wrong answer: {(int)response.StatusCode}, grpc-status {status}, {body.Length} bytes");
                }
            }
            catch (Exception e)
            {
                Count(failures, e);
            }
        }

        Report(calls, failures);
        return 0;
    }
    case "loop":
    {
        // loop URL CALLS: Health/Check one at a time on one long-lived gRPC channel, as EdgeRig.CheckAsync.
        var (url, calls) = (args[1], int.Parse(args[2]));
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(url);
        var bytes = Grpc.Core.Marshallers.Create<byte[]>(b => b, b => b);
        var check = new Grpc.Core.Method<byte[], byte[]>(Grpc.Core.MethodType.Unary, "grpc.health.v1.Health", "Check", bytes, bytes);
        var invoker = channel.CreateCallInvoker();
        var failures = new Dictionary<string, int>();
        for (var i = 0; i < calls; i++)
        {
            try
            {
                var options = new Grpc.Core.CallOptions(deadline: DateTime.UtcNow.AddSeconds(5));
                if ((await invoker.AsyncUnaryCall(check, null, options, []).ResponseAsync).Length != 2)
                {
                    throw new InvalidOperationException("a wrong answer");
                }
            }
            catch (Exception e)
            {
                Count(failures, e);
            }
        }

        Report(calls, failures);
        return 0;
    }
    case "duplex":
    {
        // duplex URL: one reflection request on a stream then left open, as grpcurl's; the answer must come within 3 s.
        using var http = new HttpClient();
        var body = new OpenBody();
        using var request = new HttpRequestMessage(HttpMethod.Post, args[1] + "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = body,
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var header = new byte[5];
            await (await response.Content.ReadAsStreamAsync(timeout.Token)).ReadExactlyAsync(header, timeout.Token);
            Console.WriteLine($"answered in {clock.ElapsedMilliseconds} ms ({header[3] << 8 | header[4]}-byte message)");
        }
        catch (Exception e)
        {
            Console.WriteLine($"no answer in {clock.ElapsedMilliseconds} ms ({e.GetType().Name})");
        }

        body.Done.TrySetResult();
        return 0;
    }
    default:
        throw new ArgumentException(args[0]);
}

static void Count(Dictionary<string, int> failures, Exception e)
{
    var text = e.ToString();
    var key = text.Contains("error code 'CANCEL'", StringComparison.Ordinal) ? "cut" : e.GetType().Name + ": " + e.Message;
    failures[key] = failures.GetValueOrDefault(key) + 1;
}

static void Report(int calls, Dictionary<string, int> failures) =>
    Console.WriteLine($"calls {calls} cut {failures.GetValueOrDefault("cut")} other {failures.Where(f => f.Key != "cut").Sum(f => f.Value)}"
        + string.Concat(failures.Where(f => f.Key != "cut").Select(f => $" [{f.Value}x {f.Key}]")));

sealed class OpenBody : HttpContent
{
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        // ServerReflectionRequest { list_services: "" }; the stream stays open until the answer has come.
        await stream.WriteAsync(new byte[] { 0, 0, 0, 0, 2, 0x3a, 0x00 });
        await stream.FlushAsync();
        await Done.Task;
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}

sealed class LateBody(byte[] body, int gapMs) : HttpContent
{
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        // HEADERS go out first; the body comes gapMs later.
        await stream.FlushAsync();
        await Task.Delay(gapMs);
        await stream.WriteAsync(body);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = body.Length;
        return true;
    }
}
EOF
dotnet build -c Release "$work/app/early.cs" -o "$work/bin" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
app() { dotnet "$work/bin/early.dll" "$@"; }

declare -A grpc_port http_port
for slot in early reads grpc; do
  grpc_port[$slot]=$(free_port)
  http_port[$slot]=$(free_port)
  # dotnet itself, not through app(): its pid is the one cleanup kills.
  dotnet "$work/bin/early.dll" slot "${grpc_port[$slot]}" "${http_port[$slot]}" "$slot" >"$work/slot-$slot.log" 2>&1 &
  pids+=($!)
done
for slot in early reads grpc; do
  for _ in $(seq 1 100); do grep -q listening "$work/slot-$slot.log" && break; sleep 0.2; done
  grep -q listening "$work/slot-$slot.log" || { echo "slot $slot did not start" >&2; cat "$work/slot-$slot.log" >&2; exit 1; }
done

# What HaproxyConfig.Render writes for one gRPC route (blue live, green in maintenance, blue's standby enabled), with
# the request log of failed calls only.
config() {
  local variant=$1 slot=$2 port=$3
  local retry="    retry-on conn-failure empty-response" observe=" observe layer4 error-limit 1 on-error mark-down" extra=""
  case $variant in
    edge) ;;
    edge-noretry) retry="" ;;
    edge-noobserve) observe="" ;;
    edge-buffer) extra="    option http-buffer-request" ;;
  esac
  local server="127.0.0.1:${grpc_port[$slot]} proto h2 check check-proto h1 port ${http_port[$slot]} inter 200ms fall 2 rise 1"
  cat <<CFG
global
    stats socket $work/$variant-$slot.sock level admin
    hard-stop-after 20000ms
    log stdout format raw local0 info
defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    retries 2
    option redispatch 1
$retry
$extra
    timeout connect 2000ms
    timeout client 3600000ms
    timeout server 3600000ms
    timeout http-keep-alive 3600000ms
    timeout http-request 10s
    timeout queue 5s
    timeout check 2000ms
frontend fe_8000
    bind ipv4@127.0.0.1:$port proto h2
    default_backend be_8000
backend be_8000
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    server blue $server$observe
    server green $server$observe disabled
    server blue-standby $server backup
    server green-standby $server backup disabled
CFG
}

variants="edge edge-noretry edge-noobserve edge-buffer"
declare -A edge_port
for variant in $variants; do
  for slot in early reads grpc; do
    port=$(free_port)
    edge_port[$variant-$slot]=$port
    config "$variant" "$slot" "$port" >"$work/$variant-$slot.cfg"
    haproxy -W -db -dR -f "$work/$variant-$slot.cfg" >"$work/haproxy-$variant-$slot.log" 2>&1 &
    pids+=($!)
  done
done
for key in "${!edge_port[@]}"; do
  for _ in $(seq 1 100); do python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "${edge_port[$key]}" 2>/dev/null && break; sleep 0.1; done
done

echo "part 1: $gap_calls calls per line, the body ${gap_ms} ms after the headers ($(uptime | sed 's/.*load/load/'))"
printf '%-16s %-6s %s\n' target slot result
for slot in early reads grpc; do
  printf '%-16s %-6s %s\n' direct "$slot" "$(app gap "http://127.0.0.1:${grpc_port[$slot]}" "$gap_calls" "$gap_ms")"
  for variant in $variants; do
    printf '%-16s %-6s %s\n' "$variant" "$slot" "$(app gap "http://127.0.0.1:${edge_port[$variant-$slot]}" "$gap_calls" "$gap_ms")"
  done
done

echo "the same calls to a method the grpc slot lacks (UNIMPLEMENTED is the right answer)"
printf '%-16s %-6s %s\n' direct grpc "$(app gap "http://127.0.0.1:${grpc_port[grpc]}" "$gap_calls" "$gap_ms" /grpc.health.v1.Health/Nope 12)"
for variant in $variants; do
  printf '%-16s %-6s %s\n' "$variant" grpc "$(app gap "http://127.0.0.1:${edge_port[$variant-grpc]}" "$gap_calls" "$gap_ms" /grpc.health.v1.Health/Nope 12)"
done
echo "a reflection stream left open after its request (bidirectional, as grpcurl's)"
printf '%-16s %-6s %s\n' direct grpc "$(app duplex "http://127.0.0.1:${grpc_port[grpc]}")"
for variant in $variants; do
  printf '%-16s %-6s %s\n' "$variant" grpc "$(app duplex "http://127.0.0.1:${edge_port[$variant-grpc]}")"
done

if [ "$loop_calls" -gt 0 ]; then
  echo "part 2: $rounds rounds of $loop_calls calls per slot through edge, one at a time, $busy busy loops beside them"
  busy_pids=()
  for _ in $(seq 1 "$busy"); do
    sh -c 'while :; do :; done' &
    busy_pids+=($!)
    pids+=($!)
  done
  for round in $(seq 1 "$rounds"); do
    for slot in early reads; do
      result=$(app loop "http://127.0.0.1:${edge_port[edge-$slot]}" "$loop_calls")
      printf 'round %-3s %-6s %s  (%s)\n' "$round" "$slot" "$result" "$(uptime | sed 's/.*load/load/')"
    done
  done
  for pid in "${busy_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
fi

echo "haproxy's log of the failed calls through edge (early slot), the first 3:"
grep -h 'Health/Check' "$work/haproxy-edge-early.log" | head -3 || true
