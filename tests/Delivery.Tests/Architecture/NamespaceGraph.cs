using System.Text.RegularExpressions;

namespace StudentPerformance.Delivery.Tests.Architecture;

/// <summary>
/// The dependencies between a service's top-level folders, read from its C# sources: each file belongs to the
/// folder its namespace names (<c>StudentPerformance.Predictor.Grpc</c> → <c>Grpc</c>; the service's own namespace
/// → <c>(root)</c>), and depends on every other folder it names in a using directive or a fully-qualified reference.
/// A type declared in the root namespace is visible everywhere without a using, so naming one is a dependency too.
/// </summary>
public sealed partial class NamespaceGraph
{
    public const string Root = "(root)";

    private readonly Dictionary<string, SortedDictionary<string, string>> _edges = new(StringComparer.Ordinal);

    private NamespaceGraph(string service) => Service = service;

    public string Service { get; }

    /// <summary>The folders, each with the folders it depends on and, per dependency, the first file that shows it.</summary>
    public IReadOnlyDictionary<string, SortedDictionary<string, string>> Edges => _edges;

    /// <summary>Reads every .cs file under <paramref name="serviceDirectory"/> (bin and obj skipped).</summary>
    public static NamespaceGraph Read(string serviceDirectory, string service)
    {
        var files = Directory.EnumerateFiles(serviceDirectory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(serviceDirectory, f).Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj"))
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(serviceDirectory, f).Replace('\\', '/'), File.ReadAllText(f)));
        return FromSources(service, files);
    }

    /// <summary>Builds the graph from (relative path, source text) pairs.</summary>
    public static NamespaceGraph FromSources(string service, IEnumerable<(string Path, string Text)> sources)
    {
        var graph = new NamespaceGraph(service);
        var prefix = "StudentPerformance." + service;
        var files = sources.Select(s => (s.Path, Text: StripComments(s.Text))).ToList();
        var parsed = files.Select(f => (f.Path, f.Text, Folder: FolderOf(f.Text, prefix, f.Path))).ToList();
        var folders = parsed.Select(p => p.Folder).ToHashSet(StringComparer.Ordinal);
        foreach (var folder in folders)
        {
            graph._edges[folder] = new SortedDictionary<string, string>(StringComparer.Ordinal);
        }

        var declared = parsed.GroupBy(p => p.Folder, StringComparer.Ordinal).ToDictionary(
            g => g.Key,
            g => g.SelectMany(p => TypeDeclaration().Matches(p.Text).Select(m => m.Groups["name"].Value)).ToHashSet(StringComparer.Ordinal),
            StringComparer.Ordinal);
        var rootTypes = declared.GetValueOrDefault(Root) ?? [];
        var reference = new Regex(Regex.Escape(prefix) + @"\.(?<folder>[A-Za-z_][A-Za-z0-9_]*)\b", RegexOptions.CultureInvariant);
        foreach (var (path, text, folder) in parsed)
        {
            var body = NamespaceDeclaration().Replace(text, "");
            foreach (Match match in reference.Matches(body))
            {
                var target = match.Groups["folder"].Value;
                if (target != folder && folders.Contains(target))
                {
                    graph._edges[folder].TryAdd(target, path);
                }
            }

            // A folder's own type of the same name hides the root's (a Log class in each folder is common).
            if (folder != Root && rootTypes.Any(type => !declared[folder].Contains(type) && Regex.IsMatch(body, @"\b" + Regex.Escape(type) + @"\b")))
            {
                graph._edges[folder].TryAdd(Root, path);
            }
        }

        return graph;
    }

    /// <summary>
    /// Every cycle, one per strongly connected group of folders, written as <c>A → B → A</c> with the file behind
    /// each step. Empty when the folders form layers.
    /// </summary>
    public IReadOnlyList<string> Cycles()
    {
        var cycles = new List<string>();
        foreach (var component in StronglyConnected().Where(c => c.Count > 1 || _edges[c[0]].ContainsKey(c[0])))
        {
            var members = component.ToHashSet(StringComparer.Ordinal);
            var path = FindCycle(component.Min(StringComparer.Ordinal)!, members);
            var steps = path.Zip(path.Skip(1), (from, to) => $"{from} → {to} ({_edges[from][to]})");
            var mutual = component.Order(StringComparer.Ordinal)
                .SelectMany(a => _edges[a].Keys.Where(b => string.CompareOrdinal(a, b) < 0 && _edges[b].ContainsKey(a)).Select(b => $"{a} ↔ {b}"))
                .ToList();
            cycles.Add($"{Service}: {string.Join(" → ", path)} [{string.Join("; ", steps)}]; "
                + $"folders in one cycle: {string.Join(", ", component.Order(StringComparer.Ordinal))}"
                + (mutual.Count > 0 ? $"; using each other: {string.Join(", ", mutual)}" : ""));
        }

        return cycles;
    }

    /// <summary>A shortest way from <paramref name="start"/> back to itself inside one strongly connected group.</summary>
    private List<string> FindCycle(string start, HashSet<string> members)
    {
        var previous = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        foreach (var next in _edges[start].Keys.Where(members.Contains))
        {
            if (next == start)
            {
                return [start, start];
            }

            previous.TryAdd(next, start);
            queue.Enqueue(next);
        }

        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            foreach (var next in _edges[node].Keys.Where(members.Contains))
            {
                if (next == start)
                {
                    var path = new List<string> { start };
                    for (var at = node; at != start; at = previous[at])
                    {
                        path.Insert(1, at);
                    }

                    path.Add(start);
                    return path;
                }

                if (previous.TryAdd(next, node))
                {
                    queue.Enqueue(next);
                }
            }
        }

        throw new InvalidOperationException($"no cycle through {start}");
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    private List<List<string>> StronglyConnected()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var components = new List<List<string>>();

        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in _edges[node].Keys)
            {
                if (!index.TryGetValue(next, out var nextIndex))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next))
                {
                    low[node] = Math.Min(low[node], nextIndex);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);
                components.Add(component);
            }
        }

        foreach (var node in _edges.Keys.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return components;
    }

    private static string FolderOf(string text, string prefix, string path)
    {
        var declared = NamespaceDeclaration().Match(text);
        if (declared.Success)
        {
            var name = declared.Groups["name"].Value;
            if (name == prefix)
            {
                return Root;
            }

            if (name.StartsWith(prefix + ".", StringComparison.Ordinal))
            {
                return name[(prefix.Length + 1)..].Split('.')[0];
            }
        }

        // No namespace of this service (top-level statements, or a foreign namespace): the folder decides.
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? Root : path[..slash];
    }

    private static string StripComments(string text) => Comment().Replace(text, m => m.Value.StartsWith('"') ? m.Value : " ");

    [GeneratedRegex(@"^\s*namespace\s+(?<name>[A-Za-z0-9_.]+)", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum|delegate\s+\S+)\s+(?<name>[A-Za-z_][A-Za-z0-9_]*)", RegexOptions.CultureInvariant)]
    private static partial Regex TypeDeclaration();

    // String literals are matched first so that "//" inside a string is not taken for a comment.
    [GeneratedRegex(@"""(?:[^""\\\n]|\\.)*""|//[^\n]*|/\*.*?\*/", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex Comment();
}
