namespace StudentPerformance.Deployer.Admin;

/// <summary>
/// <c>Deployer probe [--url URL]</c>: asks the running deployer's admin endpoint for <c>/healthz</c>. The image's
/// HEALTHCHECK uses it because the runtime image has no shell and no curl. Exit 0: healthy; 1: not; 2: bad usage.
/// </summary>
public static class ProbeCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var url = Environment.GetEnvironmentVariable("Deployer__Admin__Url") ?? new AdminOptions().Url;
        if (args is ["--url", var given])
        {
            url = given;
        }
        else if (args.Length > 0)
        {
            await Console.Error.WriteLineAsync("usage: Deployer probe [--url http://127.0.0.1:9090]");
            return 2;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var admin))
        {
            await Console.Error.WriteLineAsync($"probe: '{url}' is not an absolute URL (Deployer:Admin:Url)");
            return 2;
        }

        // A wildcard bind address is not somewhere to connect to; the probe runs beside the process.
        var host = admin.Host is "0.0.0.0" or "[::]" or "*" or "+" ? "127.0.0.1" : admin.Host;
        var healthz = new UriBuilder(admin) { Host = host, Path = "/healthz" }.Uri;
        using var client = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await client.GetAsync(healthz);
            await Console.Out.WriteLineAsync($"{healthz}: {(int)response.StatusCode}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"{healthz}: {ex.Message}");
            return 1;
        }
    }
}
