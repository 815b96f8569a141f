using System.Reflection;
using System.Runtime.InteropServices;

namespace StudentPerformance.Delivery.Tests.Docs;

/// <summary>One configuration key an options class binds, such as <c>Deployer:HealthGate:StableFor</c>.</summary>
/// <param name="Key">The full key, sections joined with <c>:</c>.</param>
/// <param name="IsCollection">A list or dictionary: its entries are keys below it (<c>Deployer:Container:Ports:0</c>).</param>
/// <param name="Source">The options type and property that bind it, for failure messages.</param>
public sealed record OptionsKey(string Key, bool IsCollection, string Source);

/// <summary>
/// The configuration keys of the services, read by reflection from their built assemblies. A root is every type
/// with a <c>const string SectionName</c> (of any access), wherever it lives; its public properties are keys, and a
/// property whose type is another class of the same services is a section whose properties are keys in turn.
/// Lists, dictionaries and everything else are leaves. Computed properties (no setter) are not keys.
/// </summary>
public static class OptionsKeys
{
    /// <summary>The built service assemblies, recorded by Delivery.Tests.csproj at build time.</summary>
    public static IReadOnlyList<string> ServiceAssemblyPaths { get; } =
        typeof(OptionsKeys).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Where(a => a.Key == "ServiceAssembly" && !string.IsNullOrEmpty(a.Value))
            .Select(a => a.Value!)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Every key of every options root in <paramref name="assemblyPaths"/>, with the roots found.</summary>
    public static (IReadOnlyList<OptionsKey> Keys, IReadOnlyList<string> Roots) Read(IEnumerable<string> assemblyPaths)
    {
        var paths = assemblyPaths.ToList();
        using var context = new MetadataLoadContext(new PathAssemblyResolver(ResolverPaths(paths)));
        var assemblies = paths.Select(context.LoadFromAssemblyPath).ToList();
        var ownAssemblies = assemblies.Select(a => a.GetName().Name).ToHashSet(StringComparer.Ordinal);

        var keys = new Dictionary<string, OptionsKey>(StringComparer.Ordinal);
        var roots = new List<string>();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()))
        {
            var sectionName = type.GetField("SectionName", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly);
            if (sectionName is { IsLiteral: true } && sectionName.GetRawConstantValue() is string section)
            {
                roots.Add($"{section} ({type.FullName})");
                Walk(type, section, ownAssemblies, keys, [type]);
            }
        }

        return (keys.Values.OrderBy(k => k.Key, StringComparer.Ordinal).ToList(), roots);
    }

    private static void Walk(Type type, string prefix, HashSet<string?> ownAssemblies, Dictionary<string, OptionsKey> keys, HashSet<Type> path)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is not { IsPublic: true })
            {
                continue;
            }

            var key = $"{prefix}:{KeyName(property)}";
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var settable = property.SetMethod is { IsPublic: true };
            if (!settable && IsComputed(property))
            {
                // Such as EdgeOptions.EffectiveBluePorts => BluePorts or a default: nothing for the binder to fill.
                continue;
            }

            if (IsCollection(propertyType))
            {
                keys.TryAdd(key, new OptionsKey(key, IsCollection: true, $"{type.FullName}.{property.Name}"));
            }
            else if (propertyType.IsClass && ownAssemblies.Contains(propertyType.Assembly.GetName().Name))
            {
                // The binder fills a nested options object through its getter, settable or not.
                if (path.Add(propertyType))
                {
                    Walk(propertyType, key, ownAssemblies, keys, path);
                    path.Remove(propertyType);
                }
            }
            else if (settable)
            {
                keys.TryAdd(key, new OptionsKey(key, IsCollection: false, $"{type.FullName}.{property.Name}"));
            }
        }
    }

    /// <summary>
    /// A getter with no backing field of its own (an expression body): the binder cannot fill it, so it is no key. A
    /// getter-only auto-property (<c>{ get; } = new()</c>) has a compiler-generated field and is filled through its getter.
    /// </summary>
    private static bool IsComputed(PropertyInfo property) =>
        property.DeclaringType!.GetField($"<{property.Name}>k__BackingField", BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly) is null;

    // [ConfigurationKeyName("x")] renames a key; read by name, since the attribute's assembly is not loaded here.
    private static string KeyName(PropertyInfo property) =>
        property.GetCustomAttributesData()
            .Where(a => a.AttributeType.FullName == "Microsoft.Extensions.Configuration.ConfigurationKeyNameAttribute")
            .Select(a => a.ConstructorArguments[0].Value as string)
            .FirstOrDefault() ?? property.Name;

    private static bool IsCollection(Type type) =>
        type.FullName != "System.String"
        && (type.IsArray
            || type.FullName == "System.Collections.IEnumerable"
            || type.GetInterfaces().Any(i => i.FullName == "System.Collections.IEnumerable"));

    /// <summary>
    /// The service's own folder (its dependencies), this runtime and the ASP.NET Core shared framework beside it
    /// (the services are web projects; the tests are not).
    /// </summary>
    private static IEnumerable<string> ResolverPaths(IEnumerable<string> assemblyPaths)
    {
        var runtime = RuntimeEnvironment.GetRuntimeDirectory();
        var folders = assemblyPaths.Select(p => Path.GetDirectoryName(p)!).Append(runtime).ToList();
        var aspNetVersions = new DirectoryInfo(Path.GetFullPath(Path.Combine(runtime, "..", "..", "Microsoft.AspNetCore.App")));
        if (aspNetVersions.Exists)
        {
            // The one of this runtime's version, else the newest.
            var version = new DirectoryInfo(runtime).Name;
            var aspNet = aspNetVersions.GetDirectories(version).FirstOrDefault()
                ?? aspNetVersions.GetDirectories().MaxBy(d => Version.TryParse(d.Name.Split('-')[0], out var v) ? v : new Version());
            if (aspNet is not null)
            {
                folders.Add(aspNet.FullName);
            }
        }

        return folders.Distinct(StringComparer.Ordinal).SelectMany(f => Directory.EnumerateFiles(f, "*.dll"));
    }
}
