using System.CommandLine;

namespace StudentPerformance.Deployer.Admin;

/// <summary>
/// <c>Deployer probe [--url URL]</c>: asks the running deployer's admin endpoint for <c>/healthz</c>. The image's
/// HEALTHCHECK uses it because the runtime image has no shell and no curl. Exit 0: healthy; 1: not; 2: bad usage.
/// </summary>
public static class ProbeCommand
{
    public const int Healthy = 0;
    public const int Unhealthy = 1;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public static Command Create()
    {
        var url = new Option<Uri>("--url")
        {
            Description = "The deployer's admin URL (Deployer:Admin:Url). Default: $Deployer__Admin__Url, else http://127.0.0.1:9090.",
            HelpName = "url",
            DefaultValueFactory = _ => new Uri(Environment.GetEnvironmentVariable("Deployer__Admin__Url") ?? new AdminOptions().Url),
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (Uri.TryCreate(text, UriKind.Absolute, out var parsed) && parsed.Scheme == Uri.UriSchemeHttp)
                {
                    return parsed;
                }

                result.AddError($"--url: '{text}' is not an absolute http:// URL such as http://127.0.0.1:9090.");
                return null;
            },
        };
        var command = new Command("probe", "Asks a running deployer for GET /healthz; exit 0 when healthy, 1 when not (the image's HEALTHCHECK).")
        {
            url,
        };
        command.SetAction((parse, ct) => ProbeAsync(parse.GetValue(url)!, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));
        return command;
    }

    public static async Task<int> ProbeAsync(Uri admin, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);

        // A wildcard bind address is not somewhere to connect to; the probe runs beside the process.
        var host = admin.Host is "0.0.0.0" or "[::]" or "*" or "+" ? "127.0.0.1" : admin.Host;
        var healthz = new UriBuilder(admin) { Host = host, Path = "/healthz" }.Uri;
        using var client = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await client.GetAsync(healthz, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"{healthz}: {(int)response.StatusCode}").ConfigureAwait(false);
            return response.IsSuccessStatusCode ? Healthy : Unhealthy;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await error.WriteLineAsync($"{healthz}: {ex.Message}").ConfigureAwait(false);
            return Unhealthy;
        }
    }
}
