namespace Deployer.Tests.Edge;

/// <summary>
/// The tests that count every call through a real HAProxy while it switches slots run one class at a time, after the
/// parallel classes. Inside the whole unit run, with every other class starting servers and edges at once on two
/// cores (load 15 to 22), about one run in five lost one call to an HTTP/2 CANCEL from HAProxy right after a switch;
/// alone, or with only the edge classes in parallel, none did in 20 runs. The cause is not found (docs/edge.md,
/// "Known issue"): this keeps the tests strict while the run's own contention is kept away from them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealEdgeSwitches
{
    public const string Name = "real edge switches";
}
