using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace StudentPerformance.Predictor.Hosting;

/// <summary>Runs a System.CommandLine command with this project's exit-code convention.</summary>
internal static class CommandLineRunner
{
    /// <summary>The exit code of a usage error: an unknown option, a missing or bad value.</summary>
    public const int UsageError = 2;

    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="command"/> (its name is not among them) and runs it.
    /// A usage error prints one line per problem, each naming the option, then a pointer to --help, and returns
    /// <see cref="UsageError"/>; <c>--help</c> prints the usage and returns 0.
    /// </summary>
    public static async Task<int> InvokeAsync(Command command, IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        // A RootCommand brings --help for itself and its subcommands; a command run on its own needs its own.
        if (command is not RootCommand && !command.Options.OfType<HelpOption>().Any())
        {
            command.Options.Add(new HelpOption());
        }

        var result = command.Parse(args);
        if (result.Errors.Count > 0 && result.Action is not HelpAction)
        {
            // Named after the (sub)command that was parsed, so "train: Option '--out' is required."
            var name = result.CommandResult.Command.Name;
            foreach (var error in result.Errors)
            {
                await stderr.WriteLineAsync($"{name}: {error.Message}").ConfigureAwait(false);
            }

            await stderr.WriteLineAsync($"{name}: see '{name} --help' for the options").ConfigureAwait(false);
            return UsageError;
        }

        return await result.InvokeAsync(new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,

            // Exceptions keep their own exit codes and messages (not System.CommandLine's generic 1), and the
            // process keeps its own signal handling.
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// A <c>CustomParser</c> for a number with a condition: the value when it parses (invariant culture) and meets
    /// <paramref name="valid"/>; otherwise an error naming the option, "--rows must be at least 1, got '0'".
    /// </summary>
    public static Func<ArgumentResult, T> Number<T>(Func<T, bool> valid, string requirement)
        where T : INumber<T> => result =>
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (T.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && valid(value))
        {
            return value;
        }

        var name = result.Parent is OptionResult option ? option.Option.Name : result.Argument.Name;
        result.AddError($"{name} must be {requirement}, got '{text}'");
        return T.Zero;
    };
}
