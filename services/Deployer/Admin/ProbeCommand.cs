using System.CommandLine;

namespace StudentPerformance.Deployer.Admin;

/// <summary>
/// <c>Deployer probe [--url URL] [--token-file PATH]</c>: asks the running deployer's admin endpoint for
/// <c>/healthz</c>, with the admin token when its file is readable. The image's HEALTHCHECK uses it because the
/// runtime image has no shell and no curl. Exit 0: healthy; 1: not; 2: bad usage.
/// </summary>
public static class ProbeCommand
{
    public const int Healthy = 0;
    public const int Unhealthy = 1;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public static Command Create()
    {
        var url = AdminCliOptions.Url();
        var tokenFile = new Option<string>("--token-file")
        {
            Description = "The admin token's file (Deployer:Admin:TokenFile). Default: $Deployer__Admin__TokenFile, else admin-token in $Deployer__StateDirectory or the default state directory.",
            HelpName = "path",
            DefaultValueFactory = _ => DefaultTokenFile(),
        };
        var command = new Command("probe", "Asks a running deployer for GET /healthz; exit 0 when healthy, 1 when not (the image's HEALTHCHECK).")
        {
            url,
            tokenFile,
        };
        command.SetAction((parse, ct) => ProbeAsync(parse.GetValue(url)!, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct, parse.GetValue(tokenFile)));
        return command;
    }

    /// <summary>Where the deployer keeps its token when configured by environment, as in the image and compose.</summary>
    public static string DefaultTokenFile() =>
        Environment.GetEnvironmentVariable("Deployer__Admin__TokenFile") is { Length: > 0 } file
            ? file
            : Path.Combine(
                Environment.GetEnvironmentVariable("Deployer__StateDirectory") is { Length: > 0 } state ? state : new Rollout.DeployerOptions().StateDirectory,
                AdminOptions.DefaultTokenFileName);

    public static async Task<int> ProbeAsync(Uri admin, TextWriter output, TextWriter error, CancellationToken cancellationToken, string? tokenFile = null)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);

        // A wildcard bind address is not somewhere to connect to; the probe runs beside the process.
        var host = admin.Host is "0.0.0.0" or "[::]" or "*" or "+" ? "127.0.0.1" : admin.Host;
        var healthz = new UriBuilder(admin) { Host = host, Path = "/healthz" }.Uri;
        using var client = new HttpClient { Timeout = Timeout };
        using var request = new HttpRequestMessage(HttpMethod.Get, healthz);
        if (ReadToken(tokenFile) is { } token)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        try
        {
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"{healthz}: {(int)response.StatusCode}").ConfigureAwait(false);
            return response.IsSuccessStatusCode ? Healthy : Unhealthy;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await error.WriteLineAsync($"{healthz}: {ex.Message}").ConfigureAwait(false);
            return Unhealthy;
        }
    }

    // /healthz answers without the token; sending it when readable keeps the probe working if that ever changes.
    private static string? ReadToken(string? path)
    {
        try
        {
            return path is { Length: > 0 } && File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
