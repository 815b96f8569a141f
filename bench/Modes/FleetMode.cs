using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using StudentPerformance.Bench.Cli;
using StudentPerformance.Bench.Rollout;

namespace StudentPerformance.Bench.Modes;

/// <summary>
/// <c>fleet</c>: waves across hosts (docs/fleet.md). A local registry, dynalite (the DynamoDB-protocol server the
/// tests use) with one fleet table, and <c>--hosts</c> Release deployers (Recreate, 1 s poll, each its own container,
/// port, state folder and host id). v1 is pushed and every host brought to it; then each round pushes a new digest
/// (a variant of v2) and measures, from the push, when the canary's verdict <c>Baked</c> appears in the table and when
/// each host runs the digest (/status). Everything runs on loopback under the run's prefix and is removed at the end.
/// </summary>
internal static class FleetMode
{
    public static async Task<int> RunAsync(Options options, CancellationToken cancellationToken)
    {
        var v1 = options.StringOrNull("v1-image") ?? throw new UsageException("--v1-image is required (a predictor image)");
        var v2 = options.StringOrNull("v2-image") ?? throw new UsageException("--v2-image is required (a predictor image)");
        var hosts = options.Int("hosts", 3, 1, 8);
        var rounds = options.Int("rounds", 2, 1, 20);
        var bakeTime = options.Seconds("bake-time", 10, 3600);
        var lease = options.Seconds("lease", 10, 600);
        var timeout = options.Seconds("timeout", 600, 3600);
        var dynalite = options.String("dynalite", Path.Combine(Environment.GetEnvironmentVariable("STUDENTPERFORMANCE_CACHE") ?? "/var/cache/studentperformance",
            "tools", "npm", "node_modules", "dynalite", "cli.js"));
        var deployer = RolloutMode.DeployerCommand(options);
        var deployerEnv = options.All("deployer-env");
        options.ThrowOnUnknown();
        if (!File.Exists(dynalite))
        {
            throw new UsageException($"--dynalite: no {dynalite} (npm install --prefix \"$CACHE/tools/npm\" dynalite@4.0.0, as scripts/test.sh does)");
        }

        var rig = await DeployerRig.StartAsync("fleet", "Recreate", RepoPaths.FreePort(), bakeTime, deployer, deployerEnv, cancellationToken).ConfigureAwait(false);
        await using var rigDisposal = rig.ConfigureAwait(false);
        var dynamoPort = RepoPaths.FreePort();
        using var dynamo = ChildProcess.Start("node", [dynalite, "--host", "127.0.0.1", "--port", dynamoPort.ToString(CultureInfo.InvariantCulture), "--createTableMs", "0"]);
        _ = dynamo.DrainAsync();
        var table = await CreateTableAsync($"http://127.0.0.1:{dynamoPort}", rig.Prefix, cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"fleet of {hosts}, prefix {rig.Prefix}, registry 127.0.0.1:{rig.RegistryPort}, table {table}, bake {bakeTime.TotalSeconds} s, lease {lease.TotalSeconds} s, load {Report.LoadAverage()}");

        var members = new List<(string Id, Uri Admin, ChildProcess Process)>();
        try
        {
            var v1Digest = await rig.PushAsync(v1, cancellationToken).ConfigureAwait(false);
            for (var i = 1; i <= hosts; i++)
            {
                var id = $"h{i}";
                var admin = new Uri($"http://127.0.0.1:{RepoPaths.FreePort()}");
                var env = new Dictionary<string, string>(rig.Env, StringComparer.Ordinal)
                {
                    ["Deployer__Container__Name"] = $"{rig.Prefix}-{id}",
                    ["Deployer__Container__Ports__0"] = $"{RepoPaths.FreePort()}:8000",
                    ["Deployer__StateDirectory"] = Path.Combine(rig.Work, "state-" + id),
                    // The bench reads every host's /status many times a second; on loopback, without each host's token.
                    ["Deployer__Admin__OpenStatus"] = "true",
                    ["Deployer__Admin__Url"] = admin.ToString().TrimEnd('/'),
                    ["Deployer__Fleet__Enabled"] = "true",
                    ["Deployer__Fleet__Table"] = table,
                    ["Deployer__Fleet__Region"] = "eu-west-1",
                    ["Deployer__Fleet__ServiceUrl"] = $"http://127.0.0.1:{dynamoPort}",
                    ["Deployer__Fleet__HostId"] = id,
                    ["Deployer__Fleet__LeaseDuration"] = lease.ToString("c", CultureInfo.InvariantCulture),
                    ["Deployer__Fleet__RenewInterval"] = (lease / 4).ToString("c", CultureInfo.InvariantCulture),
                    ["Deployer__Fleet__CallTimeout"] = TimeSpan.FromSeconds(Math.Min(2, lease.TotalSeconds / 8)).ToString("c", CultureInfo.InvariantCulture),
                    ["AWS_ACCESS_KEY_ID"] = "bench",
                    ["AWS_SECRET_ACCESS_KEY"] = "bench-secret",
                    ["AWS_EC2_METADATA_DISABLED"] = "true",
                };
                var parts = deployer.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var process = ChildProcess.Start(parts[0], parts[1..], env);
                _ = CopyAsync(process, Path.Combine(rig.Work, $"deployer-{id}.log"));
                members.Add((id, admin, process));
            }

            var results = new List<Dictionary<string, object?>>();
            var first = await MeasureAsync(members, v1Digest, timeout, cancellationToken).ConfigureAwait(false);
            first["round"] = "v1 (deployers starting)";
            results.Add(first);
            for (var round = 1; round <= rounds; round++)
            {
                var image = await rig.BuildVariantAsync($"r{round}", v2, cancellationToken).ConfigureAwait(false);
                var digest = await rig.PushAsync(image, cancellationToken).ConfigureAwait(false);
                var result = await MeasureAsync(members, digest, timeout, cancellationToken).ConfigureAwait(false);
                result["round"] = $"new digest {round}";
                results.Add(result);
            }

            Report.Print(
                ["round", "push -> canary baked (s)", "push -> all live (s)", "canary", "per host live (s)"],
                [.. results.Select(r => new List<string>
                {
                    (string)r["round"]!,
                    Report.F((double?)r["canaryBakedSeconds"]),
                    Report.F((double?)r["allLiveSeconds"]),
                    (string?)r["canary"] ?? "-",
                    string.Join(", ", ((Dictionary<string, double?>)r["hostLiveSeconds"]!).Select(h => $"{h.Key} {Report.F(h.Value)}")),
                })]);
            Report.JsonLine(new { mode = "fleet", at = Report.Now(), load = Report.LoadAverage(), hosts, bakeSeconds = bakeTime.TotalSeconds, leaseSeconds = lease.TotalSeconds, results });
            return results.All(r => r["allLiveSeconds"] is not null) ? 0 : 1;
        }
        finally
        {
            foreach (var (_, _, process) in members)
            {
                await process.TerminateAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
                process.Dispose();
            }
        }
    }

    /// <summary>From now until every host runs <paramref name="digest"/>: when the verdict Baked appeared, and when each host went live.</summary>
    private static async Task<Dictionary<string, object?>> MeasureAsync(
        List<(string Id, Uri Admin, ChildProcess Process)> members, string digest, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var started = TimeProvider.System.GetTimestamp();
        double? baked = null;
        string? canary = null;
        var live = members.ToDictionary(m => m.Id, _ => (double?)null, StringComparer.Ordinal);
        while (TimeProvider.System.GetElapsedTime(started) < timeout && live.Values.Any(v => v is null))
        {
            foreach (var (id, admin, _) in members)
            {
                try
                {
                    using var status = JsonDocument.Parse(await http.GetStringAsync(new Uri(admin, "/status"), cancellationToken).ConfigureAwait(false));
                    var root = status.RootElement;
                    var record = root.GetProperty("fleet").GetProperty("record");
                    if (baked is null && record.ValueKind == JsonValueKind.Object && record.GetProperty("digest").GetString() == digest
                        && record.GetProperty("verdict").GetString() == "Baked")
                    {
                        baked = Math.Round(TimeProvider.System.GetElapsedTime(started).TotalSeconds, 1);
                        canary = record.GetProperty("verdictBy").GetString();
                    }

                    if (live[id] is null && !root.GetProperty("rolloutInProgress").GetBoolean() && root.GetProperty("runningDigest").GetString() == digest)
                    {
                        live[id] = Math.Round(TimeProvider.System.GetElapsedTime(started).TotalSeconds, 1);
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    // A deployer still starting.
                }
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }

        return new Dictionary<string, object?>
        {
            ["digest"] = digest,
            ["canary"] = canary,
            ["canaryBakedSeconds"] = baked,
            ["allLiveSeconds"] = live.Values.Any(v => v is null) ? null : live.Values.Max(),
            ["hostLiveSeconds"] = live,
        };
    }

    private static async Task<string> CreateTableAsync(string serviceUrl, string prefix, CancellationToken cancellationToken)
    {
        using var client = new AmazonDynamoDBClient(new BasicAWSCredentials("bench", "bench-secret"),
            new AmazonDynamoDBConfig { ServiceURL = serviceUrl, AuthenticationRegion = "eu-west-1" });
        var name = prefix + "-fleet";
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await client.CreateTableAsync(new CreateTableRequest
                {
                    TableName = name,
                    AttributeDefinitions = [new AttributeDefinition("pk", ScalarAttributeType.S)],
                    KeySchema = [new KeySchemaElement("pk", KeyType.HASH)],
                    BillingMode = BillingMode.PAY_PER_REQUEST,
                }, cancellationToken).ConfigureAwait(false);
                return name;
            }
            catch (HttpRequestException) when (attempt < 50)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false); // dynalite still starting
            }
        }
    }

    private static async Task CopyAsync(ChildProcess child, string path)
    {
        var file = File.CreateText(path);
        await using var fileDisposal = file.ConfigureAwait(false);
        var stderr = child.Process.StandardError.ReadToEndAsync();
        while (await child.Process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            await file.WriteLineAsync(line).ConfigureAwait(false);
        }

        await file.WriteAsync(await stderr.ConfigureAwait(false)).ConfigureAwait(false);
    }
}
