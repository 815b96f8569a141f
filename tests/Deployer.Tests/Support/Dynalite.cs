using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using StudentPerformance.Deployer.Fleet;

namespace Deployer.Tests.Support;

/// <summary>
/// A real DynamoDB-protocol server: the npm package <c>dynalite</c> (4.0.0, in memory), started with node on a free
/// 127.0.0.1 port. scripts/test.sh installs it under <c>$CACHE/tools/npm</c> and exports its path as
/// <c>DYNALITE</c>. Dispose kills the process.
/// </summary>
public sealed class Dynalite : IAsyncDisposable
{
    public const string Version = "4.0.0";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly StringBuilder _output = new();
    private readonly Process _process;

    private Dynalite(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    /// <summary>What dynalite printed, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The CLI script: <c>DYNALITE</c>, or where scripts/test.sh installs it.</summary>
    public static string CliPath =>
        Environment.GetEnvironmentVariable("DYNALITE") is { Length: > 0 } path
            ? path
            : Path.Combine(Environment.GetEnvironmentVariable("STUDENTPERFORMANCE_CACHE") ?? "/var/cache/studentperformance",
                "tools", "npm", "node_modules", "dynalite", "cli.js");

    public static async Task<Dynalite> StartAsync()
    {
        var cli = CliPath;
        if (!File.Exists(cli))
        {
            throw new InvalidOperationException(
                $"dynalite is not installed at {cli}: npm install --prefix \"$CACHE/tools/npm\" dynalite@{Version} (scripts/test.sh does), or set DYNALITE to its cli.js");
        }

        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var process = new Process
            {
                StartInfo = new ProcessStartInfo("node", [cli, "--host", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                },
            };
            var server = new Dynalite(process, port);
            process.OutputDataReceived += (_, e) => server.Append(e.Data);
            process.ErrorDataReceived += (_, e) => server.Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (await server.WaitUntilListeningAsync())
            {
                return server;
            }

            var output = server.Output;
            await server.DisposeAsync();
            if (attempt >= 5 || !output.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"dynalite did not start on port {port}: {output}");
            }
        }
    }

    /// <summary>A client with dummy credentials (dynalite checks the signature's form, not the key).</summary>
    public AmazonDynamoDBClient Client()
    {
        // Generous: on a loaded machine a call that times out here may still land (and its retry then fails).
        var options = Options();
        options.CallTimeout = TimeSpan.FromSeconds(30);
        return FleetServiceCollectionExtensions.CreateClient(options, new BasicAWSCredentials("fleet-test", "fleet-test-secret"));
    }

    /// <summary>Fleet options pointing at this server and a table (created by <see cref="CreateTableAsync"/>).</summary>
    public FleetOptions Options(string table = "fleet", string hostId = "host-a") => new()
    {
        Enabled = true,
        Table = table,
        Region = "eu-west-1",
        ServiceUrl = ServiceUrl,
        HostId = hostId,
        LeaseDuration = TimeSpan.FromSeconds(10),
        RenewInterval = TimeSpan.FromSeconds(2),
        CallTimeout = TimeSpan.FromSeconds(1.5),
    };

    /// <summary>Creates a table shaped like the one infra/Hosts/FleetStack.cs makes; returns its name.</summary>
    public async Task<string> CreateTableAsync(string? name = null)
    {
        name ??= $"fleet-{Guid.NewGuid():N}"[..20];
        using var client = Client();
        try
        {
            await client.CreateTableAsync(new CreateTableRequest
            {
                TableName = name,
                AttributeDefinitions = [new AttributeDefinition(DynamoDbFleetStore.PartitionKey, ScalarAttributeType.S)],
                KeySchema = [new KeySchemaElement(DynamoDbFleetStore.PartitionKey, KeyType.HASH)],
                BillingMode = BillingMode.PAY_PER_REQUEST,
            });
        }
        catch (ResourceInUseException)
        {
            // The SDK's retry of a create that did land: the name is unique to this call.
        }
        var started = Stopwatch.StartNew();
        while ((await client.DescribeTableAsync(name)).Table.TableStatus != TableStatus.ACTIVE)
        {
            Assert.True(started.Elapsed < StartTimeout, $"table {name} not ACTIVE within {StartTimeout}");
            await Task.Delay(50);
        }

        return name;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }

        _process.Dispose();
    }

    private async Task<bool> WaitUntilListeningAsync()
    {
        var started = Stopwatch.StartNew();
        while (started.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                return false;
            }

            try
            {
                using var socket = new TcpClient();
                await socket.ConnectAsync(IPAddress.Loopback, Port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"dynalite did not listen on {Port} within {StartTimeout}: {Output}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static int FreePort() => StudentPerformance.TestSupport.TestPorts.Free();
}

/// <summary>One dynalite for a test class.</summary>
public sealed class DynaliteFixture : IAsyncLifetime
{
    public Dynalite Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await Dynalite.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
