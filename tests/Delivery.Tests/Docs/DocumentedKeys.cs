using System.Text.RegularExpressions;

namespace StudentPerformance.Delivery.Tests.Docs;

/// <summary>A configuration key written in a page, with where it was written.</summary>
public sealed record DocumentedKey(string Key, string File, int Line);

/// <summary>
/// The configuration keys a Markdown page documents. The convention: a key is an inline code span whose whole
/// text is the key in its colon form, starting with a root section (<c>`Deployer:HealthGate:StableFor`</c>,
/// <c>`Predictor:ModelPath`</c>, <c>`FrontDoor:Tls:Port`</c>). Fenced code blocks, environment-variable forms
/// (<c>Deployer__Mode</c>) and spans with anything else in them (an example error message) are not keys.
/// </summary>
public static partial class DocumentedKeys
{
    /// <summary>The keys written in <paramref name="markdown"/> that start with one of <paramref name="roots"/>.</summary>
    public static IEnumerable<DocumentedKey> Find(string markdown, string file, IReadOnlyCollection<string> roots)
    {
        var inFence = false;
        var lines = markdown.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (Fence().IsMatch(line))
            {
                inFence = !inFence;
                continue;
            }

            if (inFence)
            {
                continue;
            }

            foreach (Match span in CodeSpan().Matches(line))
            {
                var text = span.Groups["text"].Value.Trim();
                if (roots.Any(root => text.StartsWith(root + ":", StringComparison.Ordinal)) && !text.Any(char.IsWhiteSpace))
                {
                    yield return new DocumentedKey(text, file, i + 1);
                }
            }
        }
    }

    [GeneratedRegex(@"^\s{0,3}(```|~~~)")]
    private static partial Regex Fence();

    // A single-backtick span; double-backtick spans (which may hold a backtick) never hold a key.
    [GeneratedRegex(@"(?<!`)`(?<text>[^`]+)`(?!`)")]
    private static partial Regex CodeSpan();
}
