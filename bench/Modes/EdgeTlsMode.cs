extern alias deployer;

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using deployer::StudentPerformance.Deployer.Containers;
using deployer::StudentPerformance.Deployer.Edge;
using deployer::StudentPerformance.Deployer.Readiness;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Abstractions;
using StudentPerformance.Bench.Cli;

namespace StudentPerformance.Bench.Modes;

/// <summary>
/// <c>edge-tls</c>: how to rotate the edge's certificate (docs/edge.md, "TLS"). Debian's haproxy on loopback with the
/// deployer's own rendered TLS configuration and its own rotation (<see cref="EdgeTls"/>), one in-process slot, and two
/// grpc-dotnet clients calling Health/Check every <c>--interval</c>: a long-lived channel, and one that opens a new
/// connection per call. Each rotation writes a new certificate over the operator's file, then applies it by
/// <list type="bullet">
/// <item><c>runtime</c>: <c>set ssl cert</c> + <c>commit ssl cert</c> on the runtime API (the deployer's way);</item>
/// <item><c>reload</c>: the checked copy, then a seamless reload (SIGUSR2 to the master-worker).</item>
/// </list>
/// Reported per method: failed calls of each client, handshakes of the long-lived channel (a reconnect is one more),
/// and seconds from the file's replacement until a new connection is presented the new certificate.
/// </summary>
internal static class EdgeTlsMode
{
    private static readonly TimeProvider Clock = TimeProvider.System;

    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var rotations = options.Int("rotations", 5, 1, 100);
        var methods = options.String("methods", "runtime,reload").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var interval = options.Seconds("interval", 0.020, 1);
        var haproxy = options.String("haproxy", "haproxy");
        options.ThrowOnUnknown();
        if (methods.Except(["runtime", "reload"]).FirstOrDefault() is { } unknown)
        {
            throw new UsageException($"--methods: unknown method '{unknown}' (runtime, reload)");
        }

        var results = new List<RotationResult>();
        foreach (var method in methods)
        {
            var work = Directory.CreateTempSubdirectory("bench-edge-tls-").FullName;
            try
            {
                results.Add(await MeasureAsync(work, haproxy, method, rotations, interval, cancellationToken).ConfigureAwait(false));
            }
            finally
            {
                Directory.Delete(work, recursive: true);
            }
        }

        Report.Print(["method", "rotations", "long-lived calls", "failed", "handshakes", "new-conn calls", "failed", "new cert seen after (s, max)"],
            [.. results.Select(r => new List<string>
            {
                r.Method, Report.F(r.Rotations), Report.F(r.LongLivedCalls), Report.F(r.LongLivedFailed), Report.F(r.LongLivedHandshakes),
                Report.F(r.FreshCalls), Report.F(r.FreshFailed), Report.F(r.SecondsToNewCertificate),
            })]);
        Report.JsonLine(new { mode = "edge-tls", date = Report.Now(), load = Report.LoadAverage(), results });
        return results.All(r => r.LongLivedFailed == 0 && r.FreshFailed == 0) ? 0 : 1;
    }

    private static async Task<RotationResult> MeasureAsync(string work, string haproxy, string method, int rotations, TimeSpan interval, CancellationToken cancellationToken)
    {
        int Free() => RepoPaths.FreePort();
        var certificates = Enumerable.Range(0, rotations + 1).Select(i => Certificate($"edge-{i}")).ToList();
        var trusted = certificates.Select(c => c.Fingerprint).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var operatorFile = Path.Combine(work, "edge.pem");
        Replace(operatorFile, certificates[0].Pem);
        var slotGrpc = Free();
        var slotHttp = Free();
        var edgeOptions = new EdgeOptions
        {
            ConfigDirectory = Path.Combine(work, "edge"),
            RuntimeApi = "unix:" + Path.Combine(work, "admin.sock"),
            BluePorts = [$"{slotGrpc}:8000", $"{slotHttp}:8080"],
            GreenPorts = [$"{Free()}:8000", $"{Free()}:8080"],
            CheckInterval = TimeSpan.FromMilliseconds(500),
            DrainTimeout = TimeSpan.FromSeconds(10),
            SlotNetwork = "",
            Tls = { CertificatePath = operatorFile },
        };
        var edgePort = Free();
        var layout = EdgeLayout.Create([new PortBinding("127.0.0.1", edgePort, 8000), new PortBinding("127.0.0.1", Free(), 8080)], 8000, edgeOptions, EdgeSlot.Blue);
        var wrapped = Microsoft.Extensions.Options.Options.Create(edgeOptions);
        var proxy = new HaproxyEdgeProxy(wrapped, Clock, NullLogger<HaproxyEdgeProxy>.Instance);
        var tls = new EdgeTls(wrapped, new PinnedCertificates(), NullLogger<EdgeTls>.Instance);
        await using var slot = (await StartSlotAsync(slotGrpc, slotHttp, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        await tls.PrepareAsync(cancellationToken).ConfigureAwait(false);
        await proxy.WriteConfigAsync(layout, cancellationToken).ConfigureAwait(false);
        using var edge = ChildProcess.Start(haproxy, ["-W", "-db", "-f", Path.Combine(edgeOptions.ConfigDirectory, HaproxyConfig.FileName)]);
        _ = edge.DrainAsync();
        try
        {
            if (!await HaproxyProcesses.WaitAsync(async ct => (await proxy.GetStateAsync(ct).ConfigureAwait(false))?.Live == EdgeSlot.Blue, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10), cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("the edge did not route to the slot within 30 s");
            }

            var address = new Uri($"https://127.0.0.1:{edgePort}");
            var handshakes = new ConcurrentQueue<string>();
            using var longLived = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = Handler(trusted, handshakes), DisposeHttpClient = true });
            using var stop = new CancellationTokenSource();
            var longLivedClient = LoopAsync(() => (longLived, false), interval, stop.Token);
            var fresh = new ConcurrentQueue<string>();
            var freshClient = LoopAsync(() => (GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = Handler(trusted, fresh), DisposeHttpClient = true }), true), interval, stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            var worst = 0.0;
            for (var i = 1; i <= rotations; i++)
            {
                var next = certificates[i];
                var started = Clock.GetTimestamp();
                Replace(operatorFile, next.Pem);
                await tls.PrepareAsync(cancellationToken).ConfigureAwait(false);
                if (method == "runtime")
                {
                    await tls.ApplyAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await ReloadAsync(edge.Pid, cancellationToken).ConfigureAwait(false);
                }

                if (!await HaproxyProcesses.WaitAsync(_ => Task.FromResult(fresh.LastOrDefault() == next.Fingerprint), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10), cancellationToken).ConfigureAwait(false))
                {
                    throw new InvalidOperationException($"{method}: no new connection was presented certificate {i} within 30 s");
                }

                var seconds = Clock.GetElapsedTime(started).TotalSeconds;
                worst = Math.Max(worst, seconds);
                Console.WriteLine(FormattableString.Invariant($"  {method} {i}: new certificate on new connections after {seconds:0.000} s; long-lived handshakes so far {handshakes.Count}"));
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }

            await stop.CancelAsync().ConfigureAwait(false);
            var (longCalls, longFailed) = await longLivedClient.ConfigureAwait(false);
            var (freshCalls, freshFailed) = await freshClient.ConfigureAwait(false);
            return new RotationResult(method, rotations, longCalls, longFailed, handshakes.Count, freshCalls, freshFailed, Math.Round(worst, 3));
        }
        finally
        {
            await edge.TerminateAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
    }

    /// <summary>Calls Health/Check every <paramref name="interval"/> until stopped; returns calls made and calls failed.</summary>
    private static Task<(int Calls, int Failed)> LoopAsync(Func<(GrpcChannel Channel, bool Owned)> channel, TimeSpan interval, CancellationToken stop) =>
        Task.Run(async () =>
        {
            var calls = 0;
            var failed = 0;
            while (!stop.IsCancellationRequested)
            {
                var (current, owned) = channel();
                try
                {
                    await new Health.HealthClient(current).CheckAsync(new HealthCheckRequest(), deadline: Clock.GetUtcNow().UtcDateTime.AddSeconds(2)).ConfigureAwait(false);
                }
                catch (RpcException e)
                {
                    failed++;
                    Console.WriteLine($"  call failed: {e.StatusCode} {e.Status.Detail}");
                }
                finally
                {
                    if (owned)
                    {
                        current.Dispose();
                    }
                }

                calls++;
                try
                {
                    await Task.Delay(interval, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return (calls, failed);
        });

    private static SocketsHttpHandler Handler(HashSet<string> trusted, ConcurrentQueue<string> presented) => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                var fingerprint = certificate?.GetCertHashString() ?? "";
                presented.Enqueue(fingerprint);
                return trusted.Contains(fingerprint);
            },
        },
    };

    /// <summary>SIGUSR2 to the master; done when a new worker runs and the old ones are gone.</summary>
    private static async Task ReloadAsync(int master, CancellationToken cancellationToken)
    {
        var before = HaproxyProcesses.Workers(master);
        using (var signal = Process.Start("/bin/kill", ["-USR2", master.ToString(CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!await HaproxyProcesses.WaitAsync(_ => Task.FromResult(HaproxyProcesses.Workers(master) is var now && now.Count > 0 && !now.Overlaps(before)), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10), cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException("the reload did not replace the worker within 30 s");
        }
    }

    /// <summary>One slot: grpc.health.v1 over h2c, and <c>/readyz</c> over HTTP/1.1 for the edge's check.</summary>
    private static async Task<WebApplication> StartSlotAsync(int grpcPort, int httpPort, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, grpcPort, l => l.Protocols = HttpProtocols.Http2);
            k.Listen(IPAddress.Loopback, httpPort, l => l.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddGrpc();
        var health = new HealthServiceImpl();
        health.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
        builder.Services.AddSingleton(health);
        var app = builder.Build();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGet("/readyz", () => "SERVING");
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return app;
    }

    private static (string Pem, string Fingerprint) Certificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var now = Clock.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        return (certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n", certificate.GetCertHashString());
    }

    /// <summary>By rename, as certbot or an operator's tool replaces a file.</summary>
    private static void Replace(string path, string content)
    {
        File.WriteAllText(path + ".new", content);
        File.Move(path + ".new", path, overwrite: true);
    }

    private sealed record RotationResult(
        string Method, int Rotations, int LongLivedCalls, int LongLivedFailed, int LongLivedHandshakes, int FreshCalls, int FreshFailed, double SecondsToNewCertificate);
}
