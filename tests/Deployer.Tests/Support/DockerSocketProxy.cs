using System.Net.Sockets;

namespace Deployer.Tests.Support;

/// <summary>
/// A unix socket that forwards to the real Docker engine. <see cref="Stop"/> makes the engine unreachable for
/// the deployer (connections refused, open streams cut) without restarting the daemon that other people's tests
/// share; <see cref="Resume"/> brings it back on the same path.
/// </summary>
public sealed class DockerSocketProxy : IAsyncDisposable
{
    private const string EngineSocket = "/var/run/docker.sock";
    private readonly string _directory;
    private readonly List<Socket> _open = [];
    private Socket? _listener;
    private CancellationTokenSource? _stop;

    private DockerSocketProxy(string directory) => _directory = directory;

    public string SocketPath => Path.Combine(_directory, "docker.sock");

    public string Endpoint => "unix://" + SocketPath;

    public static DockerSocketProxy Start()
    {
        var proxy = new DockerSocketProxy(Directory.CreateTempSubdirectory("sp-docker-proxy-").FullName);
        proxy.Resume();
        return proxy;
    }

    public void Resume()
    {
        File.Delete(SocketPath);
        _stop = new CancellationTokenSource();
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(64);
        _ = AcceptLoopAsync(_listener, _stop.Token);
    }

    public void Stop()
    {
        _stop?.Cancel();
        _listener?.Dispose();
        _listener = null;
        lock (_open)
        {
            foreach (var socket in _open)
            {
                socket.Dispose();
            }

            _open.Clear();
        }

        File.Delete(SocketPath);
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        _stop?.Dispose();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(ct);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = PumpAsync(client, ct);
        }
    }

    private async Task PumpAsync(Socket client, CancellationToken ct)
    {
        var engine = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        lock (_open)
        {
            _open.Add(client);
            _open.Add(engine);
        }

        try
        {
            await engine.ConnectAsync(new UnixDomainSocketEndPoint(EngineSocket), ct);
            await using var a = new NetworkStream(client, ownsSocket: true);
            await using var b = new NetworkStream(engine, ownsSocket: true);
            await Task.WhenAny(a.CopyToAsync(b, ct), b.CopyToAsync(a, ct));
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
        {
            // Cut by Stop: exactly what the deployer sees when the daemon goes away.
        }
        finally
        {
            client.Dispose();
            engine.Dispose();
        }
    }
}
