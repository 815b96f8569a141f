using System.CommandLine;

namespace StudentPerformance.Deployer.Admin;

/// <summary>The command-line options that every command talking to a running deployer's admin API shares.</summary>
internal static class AdminCliOptions
{
    /// <summary><c>--url</c>: the admin URL, an absolute http:// URL; default $Deployer__Admin__Url, else the built-in one.</summary>
    public static Option<Uri> Url() => new("--url")
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
}
