using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StudentPerformance.Deployer.Edge;

/// <summary>
/// The edge's runtime API: one command in, its reply text out. Unreachable or silent throws
/// <see cref="EdgeRuntimeApiException"/> with <see cref="EdgeRuntimeApiException.IsTransient"/> set.
/// </summary>
public interface IEdgeRuntimeApi
{
    /// <summary>Sends one command and returns the reply text.</summary>
    Task<string> ExecuteAsync(string command, CancellationToken cancellationToken);

    /// <summary>
    /// Sends one command with a multi-line payload (<c>command &lt;&lt;</c>, the lines, an empty line), such as
    /// <c>set ssl cert</c> with a PEM bundle, and returns the reply text. The payload must hold no empty line.
    /// </summary>
    Task<string> ExecuteAsync(string command, string payload, CancellationToken cancellationToken);
}

/// <summary>
/// HAProxy's runtime API (the admin-level stats socket), one command per connection: the socket answers and
/// closes, so a reply is everything read until end of stream. Failures throw <see cref="EdgeRuntimeApiException"/>.
/// </summary>
public sealed class HaproxyRuntimeApi : IEdgeRuntimeApi
{
    private readonly EndPoint _endpoint;
    private readonly TimeSpan _timeout;

    public HaproxyRuntimeApi(string address, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        _endpoint = ParseEndpoint(address);
        _timeout = timeout;
    }

    /// <summary>Sends one command and returns the reply text.</summary>
    public Task<string> ExecuteAsync(string command, CancellationToken cancellationToken)
    {
        CheckCommand(command);
        return SendAsync(command, command + "\n", cancellationToken);
    }

    /// <summary>Sends one command with a payload (HAProxy 2.x's <c>&lt;&lt;</c> form) and returns the reply text.</summary>
    public Task<string> ExecuteAsync(string command, string payload, CancellationToken cancellationToken)
    {
        CheckCommand(command);
        ArgumentException.ThrowIfNullOrEmpty(payload);
        var lines = payload.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        if (lines.Any(string.IsNullOrWhiteSpace))
        {
            // An empty line ends the payload: the rest would run as commands.
            throw new ArgumentException("a runtime API payload must hold no empty line", nameof(payload));
        }

        return SendAsync(command, $"{command} <<\n{string.Join('\n', lines)}\n\n", cancellationToken);
    }

    private static void CheckCommand(string command)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        if (command.Contains('\n', StringComparison.Ordinal) || command.Contains(';', StringComparison.Ordinal))
        {
            // One command per call, so that a reply always belongs to exactly one command.
            throw new ArgumentException("one runtime API command, without ';' or a newline", nameof(command));
        }
    }

    private async Task<string> SendAsync(string command, string text, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        using var socket = _endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(_endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(_endpoint, timeout.Token).ConfigureAwait(false);
            await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            var reply = new MemoryStream();
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false)) > 0)
            {
                reply.Write(buffer, 0, read);
            }

            return Encoding.UTF8.GetString(reply.GetBuffer(), 0, (int)reply.Length);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EdgeRuntimeApiException($"runtime API at {_endpoint} did not answer '{Verb(command)}' within {_timeout}", isTransient: true);
        }
        catch (SocketException e)
        {
            throw new EdgeRuntimeApiException($"runtime API at {_endpoint} unreachable: {e.SocketErrorCode}", e) { IsTransient = true };
        }
    }

    /// <summary>Parses <c>show stat</c> CSV: a header line starting with <c># </c>, then one row per line.</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, string>> ParseStat(string csv)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0 || !lines[0].StartsWith("# ", StringComparison.Ordinal))
        {
            throw new EdgeRuntimeApiException($"runtime API 'show stat' answered no CSV header: {Truncate(csv)}");
        }

        var header = lines[0][2..].Split(',');
        var rows = new List<IReadOnlyDictionary<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            var row = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < header.Length && i < cells.Length; i++)
            {
                if (header[i].Length > 0)
                {
                    row[header[i]] = cells[i];
                }
            }

            rows.Add(row);
        }

        return rows;
    }

    internal static int Int(IReadOnlyDictionary<string, string> row, string column) =>
        row.TryGetValue(column, out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;

    private static EndPoint ParseEndpoint(string address)
    {
        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            return new UnixDomainSocketEndPoint(address["unix:".Length..]);
        }

        return IPEndPoint.TryParse(address, out var endpoint) && endpoint.Port > 0 && IPAddress.IsLoopback(endpoint.Address)
            ? endpoint
            : throw new ArgumentException($"runtime API address '{address}' must be a loopback ip:port or unix:/path", nameof(address));
    }

    internal static string Verb(string command) => command.Split(' ', 3) is [var a, var b, ..] ? $"{a} {b}" : command;

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";
}

/// <summary>The runtime API could not be reached, timed out, or refused a command.</summary>
public sealed class EdgeRuntimeApiException : Exception
{
    public EdgeRuntimeApiException()
    {
    }

    public EdgeRuntimeApiException(string message) : base(message)
    {
    }

    public EdgeRuntimeApiException(string message, bool isTransient) : base(message) => IsTransient = isTransient;

    /// <summary>Unreachable or silent (refused connection, timeout): the same command may succeed a moment later.</summary>
    public bool IsTransient { get; init; }

    public EdgeRuntimeApiException(string message, Exception inner) : base(message, inner)
    {
    }
}
