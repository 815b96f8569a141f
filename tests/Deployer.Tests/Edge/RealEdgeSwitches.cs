namespace Deployer.Tests.Edge;

/// <summary>
/// The tests that count every call through a real HAProxy while it switches slots run one class at a time, after the
/// parallel classes, so that a switch's timing is not at the mercy of every other class starting servers and edges
/// at once on two cores. The call HAProxy now and then cut with CANCEL under that load was the test slot answering
/// before it had read the request (docs/edge.md, "Fixed: a call cut on a starved host"); the tests allow no cut.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealEdgeSwitches
{
    public const string Name = "real edge switches";
}
