using System.CommandLine;
using StudentPerformance.Deployer.Admin;

namespace StudentPerformance.Deployer.Hosting;

/// <summary>
/// The deployer's command line: <c>run</c> (the default) starts the deployer, <c>probe</c> asks a running one for
/// its health, <c>evaluate</c> runs the quality gate once (CI, before a push), <c>status</c> prints (or, with
/// <c>--watch</c>, follows) what the dashboard shows. All have <c>--help</c>; a usage error names the option and exits 2.
/// </summary>
public static class DeployerCommandLine
{
    public const int UsageError = 2;
    private const string RunName = "run";

    public static RootCommand Create()
    {
        var run = new Command(RunName, "Runs the deployer (the default when no command is given).");
        var root = new RootCommand(
            """
            Keeps one predictor container on the newest healthy digest of its tag.
            Configuration comes from appsettings.json, environment variables (Deployer__Section__Key) and
            --Deployer:Section:Key=value arguments; see docs/deployer.md.
            """);
        foreach (var command in new[] { root, run })
        {
            // Configuration keys pass through to the host's command-line configuration provider.
            command.TreatUnmatchedTokensAsErrors = false;
            command.SetAction(async (parse, ct) =>
            {
                var app = DeployerHostExtensions.BuildDeployer([.. parse.UnmatchedTokens]);
                await app.RunAsync(ct).ConfigureAwait(false);
                return 0;
            });
        }

        root.Add(run);
        root.Add(ProbeCommand.Create());
        root.Add(EvaluateCommand.Create());
        root.Add(StatusCommand.Create());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; usage errors go to <paramref name="error"/> with exit code 2.</summary>
    public static async Task<int> InvokeAsync(string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        var configuration = new InvocationConfiguration { Output = output ?? Console.Out, Error = error ?? Console.Error };
        var result = Create().Parse(args);
        var passesConfiguration = result.CommandResult.Command is RootCommand || result.CommandResult.Command.Name == RunName;
        var errors = result.Errors.Select(e => e.Message)
            .Concat(passesConfiguration
                ? NotConfigurationKeys(result.UnmatchedTokens)
                : result.UnmatchedTokens.Select(t => $"Unrecognized command or argument '{t}'."))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (errors.Count > 0)
        {
            foreach (var message in errors)
            {
                await configuration.Error.WriteLineAsync(message).ConfigureAwait(false);
            }

            await configuration.Error.WriteLineAsync("Run 'Deployer --help' for usage.").ConfigureAwait(false);
            return UsageError;
        }

        return await result.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An option that is neither the command's own nor a <c>--Section:Key</c> configuration key.</summary>
    private static IEnumerable<string> NotConfigurationKeys(IReadOnlyList<string> unmatched)
    {
        for (var i = 0; i < unmatched.Count; i++)
        {
            var token = unmatched[i];
            if (token.StartsWith('-') && !IsConfigurationKey(token))
            {
                yield return $"Unrecognized option '{token}': options are --help and configuration keys such as --Deployer:Mode=Monitor.";
            }
            else if (IsConfigurationKey(token) && !token.Contains('=', StringComparison.Ordinal) && (i + 1 == unmatched.Count || unmatched[i + 1].StartsWith('-')))
            {
                yield return $"Configuration key '{token}' has no value: write {token}=value or {token} value.";
            }
            else if (!token.StartsWith('-') && (i == 0 || !IsConfigurationKey(unmatched[i - 1]) || unmatched[i - 1].Contains('=', StringComparison.Ordinal)))
            {
                yield return $"Unrecognized command or argument '{token}'.";
            }
        }
    }

    private static bool IsConfigurationKey(string token) =>
        token.StartsWith("--", StringComparison.Ordinal) && token.IndexOf(':', StringComparison.Ordinal) is > 2;
}
