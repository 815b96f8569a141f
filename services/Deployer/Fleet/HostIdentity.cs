using System.Net.Http.Headers;
using Microsoft.Extensions.Options;

namespace StudentPerformance.Deployer.Fleet;

/// <summary>Where this host's name in the fleet record comes from.</summary>
public interface IHostIdentity
{
    Task<string> GetHostIdAsync(CancellationToken cancellationToken);
}

/// <summary>
/// <c>Deployer:Fleet:HostId</c> when it is set; otherwise the EC2 instance id from IMDSv2 (a session token first,
/// then the instance id with it), asked once and kept; each within <c>Deployer:Fleet:CallTimeout</c>.
/// </summary>
internal sealed class HostIdentity(IHttpClientFactory httpClients, IOptions<FleetOptions> options) : IHostIdentity, IDisposable
{
    public const string HttpClientName = "imds";
    private readonly SemaphoreSlim _once = new(1, 1);
    private string? _hostId;

    public void Dispose() => _once.Dispose();

    public async Task<string> GetHostIdAsync(CancellationToken cancellationToken)
    {
        if (options.Value.HostId is { Length: > 0 } configured)
        {
            return configured;
        }

        await _once.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _hostId ??= await AskMetadataAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _once.Release();
        }
    }

    private async Task<string> AskMetadataAsync(CancellationToken cancellationToken)
    {
        var root = new Uri(options.Value.MetadataUrl.TrimEnd('/') + "/");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Value.CallTimeout);
        using var client = httpClients.CreateClient(HttpClientName);
        try
        {
            using var tokenRequest = new HttpRequestMessage(HttpMethod.Put, new Uri(root, "latest/api/token"));
            tokenRequest.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", "60");
            using var tokenResponse = await client.SendAsync(tokenRequest, deadline.Token).ConfigureAwait(false);
            tokenResponse.EnsureSuccessStatusCode();
            var token = await tokenResponse.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);

            using var idRequest = new HttpRequestMessage(HttpMethod.Get, new Uri(root, "latest/meta-data/instance-id"));
            idRequest.Headers.Add("X-aws-ec2-metadata-token", token);
            idRequest.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
            using var idResponse = await client.SendAsync(idRequest, deadline.Token).ConfigureAwait(false);
            idResponse.EnsureSuccessStatusCode();
            var id = (await idResponse.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false)).Trim();
            return id.Length > 0 ? id : throw new FleetStoreException("IMDSv2 answered an empty instance id");
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new FleetStoreException(
                $"no host id: {FleetOptions.SectionName}:{nameof(FleetOptions.HostId)} is empty and IMDSv2 at {root} did not answer ({ex.Message})", ex);
        }
    }
}
