using Deployer.Tests.Support;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Rollout;
using Xunit.Abstractions;

namespace Deployer.Tests.Rollout;

/// <summary>
/// Every single fault, exhaustively, on the in-memory engine, the in-memory HAProxy (under the real
/// <see cref="HaproxyEdgeProxy"/>) and the state store. For each kind of rollout, a run without a fault numbers every
/// call the rollout makes to those three; then, for each call, the rollout runs again with that call failing, and
/// again with it timing out (<see cref="FaultKind"/>), followed by reconciliation ticks. After each run: the edge's
/// runtime state routes, in every backend, only to a running slot that answers SERVING; the file names that slot; no
/// stray container is left; the digest is quarantined only when the image was at fault. After a good rollout's fault,
/// the same rollout again (no fault) must end with the new digest live: the fault left it recoverable.
/// </summary>
public sealed class SingleFaultTests(ITestOutputHelper output)
{
    private const string V1 = PlanRig.V1;
    private const string V2 = PlanRig.V2;

    public static TheoryData<string> Kinds => ["good", "refused in preflight", "gate failure", "bake failure", "operator rollback"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Rollout_AnySingleFault_LeavesOneServingSlotLiveAndNothingStray(string kind)
    {
        var points = await CountFaultPointsAsync(kind);
        var failures = new List<string>();
        var runs = 0;
        foreach (var fault in new[] { FaultKind.Throws, FaultKind.TimesOut })
        {
            for (var target = 0; target < points.Count; target++)
            {
                runs++;
                var problem = await RunWithFaultAsync(kind, new FaultInjector { Target = target, Kind = fault });
                if (problem is not null)
                {
                    failures.Add($"{fault} at call {target} ({points[target]}): {problem}");
                }
            }
        }

        output.WriteLine($"{kind}: {points.Count} fault points (calls to the engine, the edge and the state store), each thrown and timed out: {runs} runs, {failures.Count} failed");
        foreach (var point in points.Distinct().Order(StringComparer.Ordinal))
        {
            output.WriteLine($"  {point}");
        }

        Assert.True(points.Count >= 10, $"only {points.Count} fault points were counted for '{kind}': the injector is not wired in");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task Switch_RuntimeApiRefusedFromTheFirstCommand_TheCandidateIsNotRemovedWhileTheEdgeMayRouteToIt()
    {
        // The outage in docs/benchmarks.md: the edge's runtime API refuses while the switch runs.
        using var rig = await ArrangeAsync("good");
        var probe = new FaultInjector { Armed = true };
        rig.Faults = probe;
        await rig.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);
        var switchCommand = probe.Calls.ToList().FindIndex(c => c.StartsWith("edge runtime API: set server", StringComparison.Ordinal));
        using var faulty = await ArrangeAsync("good");
        var fault = new FaultInjector { Target = switchCommand, Kind = FaultKind.Throws, Armed = true };
        faulty.Faults = fault;

        var record = await faulty.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.NotEqual(RolloutOutcome.Succeeded, record.Outcome);
        Assert.False(faulty.IsQuarantined(V2));
        Assert.NotNull(await faulty.PublicDigestAsync());
        Assert.Equal(faulty.Edge.FileLive, faulty.Edge.Route());
        Assert.Null(await CheckAsync(faulty, "good", afterTicks: true));
    }

    private static async Task<IReadOnlyList<string>> CountFaultPointsAsync(string kind)
    {
        using var rig = await ArrangeAsync(kind);
        var counter = new FaultInjector();
        rig.Faults = counter;
        counter.Armed = true;
        await ActAsync(rig, kind);
        counter.Armed = false;
        var problem = await CheckAsync(rig, kind, afterTicks: false);
        Assert.True(problem is null, $"without a fault: {problem}");
        return counter.Calls;
    }

    private static async Task<string?> RunWithFaultAsync(string kind, FaultInjector fault)
    {
        using var rig = await ArrangeAsync(kind);
        rig.Faults = fault;
        fault.Armed = true;
        try
        {
            await ActAsync(rig, kind);
        }
        catch (Exception ex)
        {
            return $"the rollout threw {ex.GetType().Name}: {ex.Message}";
        }
        finally
        {
            fault.Armed = false;
        }

        return await CheckAsync(rig, kind, afterTicks: true);
    }

    /// <summary>V1 live on blue behind a running edge (V2 on green for the operator's rollback), and the digest to roll out.</summary>
    private static async Task<PlanRig> ArrangeAsync(string kind)
    {
        var rig = new PlanRig();
        // Two routes, so that a switch can stop halfway between backends.
        rig.Container.Ports = ["127.0.0.1:18000:8000", "127.0.0.1:18001:8080"];
        rig.HealthGate.StableFor = TimeSpan.FromSeconds(1);
        rig.HealthGate.Deadline = TimeSpan.FromSeconds(10);
        rig.HealthGate.BakeTime = TimeSpan.FromSeconds(5);
        if (kind == "operator rollback")
        {
            rig.ExistingSlot(EdgeSlot.Green, V2);
            rig.Engine.AddLocalImage(PlanRig.Repository, V1, ImageBehaviour.Healthy);
            await rig.ExistingEdgeAsync(EdgeSlot.Green);
            rig.State.Update(s => s with { GoodDigests = [V2, V1] });
            Assert.Equal(V1, rig.Steps.OperatorRollbackTarget(V2));
            return rig;
        }

        rig.ExistingSlot(EdgeSlot.Blue, V1);
        await rig.ExistingEdgeAsync(EdgeSlot.Blue);
        rig.State.Update(s => s with { GoodDigests = [V1] });
        rig.Registry.Push("latest", V2, kind switch
        {
            "refused in preflight" => new ImageBehaviour(ExitsWith: 1),
            "gate failure" => new ImageBehaviour(StopsServingAfter: TimeSpan.FromMilliseconds(500)),
            "bake failure" => new ImageBehaviour(StopsServingAfter: TimeSpan.FromSeconds(3)),
            _ => ImageBehaviour.Healthy,
        });
        return rig;
    }

    private static Task<RolloutRecord> ActAsync(PlanRig rig, string kind) => kind == "operator rollback"
        ? rig.BlueGreen.DeployAsync(V1, RolloutKinds.Rollback, CancellationToken.None)
        : rig.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

    /// <summary>Null when the four properties hold (after reconciliation ticks, when asked); else what is wrong.</summary>
    private static async Task<string?> CheckAsync(PlanRig rig, string kind, bool afterTicks)
    {
        if (afterTicks)
        {
            // Past any runtime API outage; then the worker's ticks, which swallow what one tick throws.
            rig.Time.Advance(FaultInjector.OutageLength + TimeSpan.FromMinutes(1));
            for (var tick = 0; tick < 3; tick++)
            {
                try
                {
                    await rig.BlueGreen.RepairAsync(CancellationToken.None);
                }
                catch (Exception ex) when (ex is EdgeRuntimeApiException or ContainerRuntimeException or RolloutStepException or IOException)
                {
                    // The next tick starts again from reconciliation.
                }
            }
        }

        var live = rig.Edge.FileLive;
        if (live is null)
        {
            return "the edge's file names no slot";
        }

        foreach (var backend in rig.Edge.Backends)
        {
            var routes = rig.Edge.Routes(backend);
            if (routes.Count == 0)
            {
                return $"{backend}: the edge routes to no serving slot (file names {live})";
            }

            if (routes.Any(slot => slot != live))
            {
                return $"{backend}: the edge routes to [{string.Join(", ", routes)}] while the file names {live}";
            }
        }

        var liveName = SlotContainer.Name(rig.Name, live.Value);
        if (rig.Engine.Peek(liveName) is not { State.Running: true } || rig.Engine.ServingBehindPort(rig.Edge.Port(live.Value))?.Serves != true)
        {
            return $"the live slot '{liveName}' does not run and answer SERVING";
        }

        string[] expected = [liveName, "predictor-edge"];
        if (!rig.Engine.ContainerNames.Order(StringComparer.Ordinal).SequenceEqual(expected.Order(StringComparer.Ordinal)))
        {
            return $"containers left: [{string.Join(", ", rig.Engine.ContainerNames)}], expected [{string.Join(", ", expected)}]";
        }

        var imageAtFault = kind is "refused in preflight" or "gate failure" or "bake failure";
        var deployed = kind == "operator rollback" ? V1 : V2;
        if (!imageAtFault && rig.IsQuarantined(deployed))
        {
            return $"{deployed} was quarantined although the image was not at fault: {rig.State.Current.Quarantined.First(q => q.Digest == deployed).Reason}";
        }

        if (afterTicks && kind is "good" or "operator rollback" && rig.Edge.FileLive is { } now && rig.Engine.Peek(SlotContainer.Name(rig.Name, now))?.DeployedDigest != deployed)
        {
            // Recoverable: the same rollout, without a fault, finishes it.
            rig.Faults = null;
            var again = await ActAsync(rig, kind);
            if (again.Outcome != RolloutOutcome.Succeeded)
            {
                return $"the same rollout after the fault ended {again.Outcome}: {again.Detail}";
            }

            return await CheckAsync(rig, kind, afterTicks: false);
        }

        return null;
    }
}
