using Deployer.Tests.Support;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

/// <summary>
/// The blue/green plan over the in-memory engine and edge, with fake time: every path of a rollout and every phase
/// a kill can interrupt. The end-to-end tests run the same paths against the real engine and HAProxy.
/// </summary>
public sealed class BlueGreenPlanTests : IDisposable
{
    private const string V1 = PlanRig.V1;
    private const string V2 = PlanRig.V2;
    private const string Blue = "predictor-blue";
    private const string Green = "predictor-green";
    private readonly PlanRig _rig = new();

    [Fact]
    public async Task FreshHost_TheEdgeIsCreatedAndTheFirstRolloutTakesBlue()
    {
        _rig.Registry.Push("latest", V1, ImageBehaviour.Healthy);
        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        var record = await _rig.BlueGreen.DeployAsync(V1, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Succeeded, record.Outcome);
        Assert.Equal(EdgeSlot.Blue, _rig.Edge.FileLive);
        Assert.Equal(["predictor-blue", "predictor-edge"], _rig.Engine.ContainerNames);
        Assert.Equal(V1, await _rig.PublicDigestAsync());
        Assert.Null(_rig.State.Current.ActiveSlotRollout);
    }

    [Fact]
    public async Task GoodRollout_TheCandidateTakesTheOtherSlotAndTheOldOneIsRetiredAfterTheBake()
    {
        await LiveV1OnBlueAsync();
        _rig.Registry.Push("latest", V2, ImageBehaviour.Healthy);

        var record = await _rig.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Succeeded, record.Outcome);
        Assert.Equal([EdgeSlot.Green], _rig.Edge.Switches);
        Assert.Equal(EdgeSlot.Green, _rig.Edge.FileLive);
        Assert.Equal(["predictor-edge", Green], _rig.Engine.ContainerNames);
        Assert.Equal(EdgeAdminState.Maintenance, _rig.Edge.Admin(EdgeSlot.Blue, standby: true));
        Assert.Equal(V2, await _rig.PublicDigestAsync());
        Assert.Equal(V2, _rig.State.Current.GoodDigests[0]);
    }

    [Fact]
    public async Task CandidateThatCrashes_IsRefusedBeforeAnySwitch_AndQuarantined()
    {
        await LiveV1OnBlueAsync();
        _rig.Registry.Push("latest", V2, new ImageBehaviour(ExitsWith: 1));

        var record = await _rig.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Refused, record.Outcome);
        Assert.Empty(_rig.Edge.Switches);
        Assert.True(_rig.IsQuarantined(V2));
        Assert.Equal([Blue, "predictor-edge"], _rig.Engine.ContainerNames);
        Assert.Equal(V1, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task EdgeNotAnswering_RefusesBeforeStartingAnything_AndQuarantinesNothing()
    {
        await LiveV1OnBlueAsync();
        await _rig.Engine.StopAsync("predictor-edge", TimeSpan.Zero, CancellationToken.None);
        _rig.Registry.Push("latest", V2, ImageBehaviour.Healthy);

        var record = await _rig.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Refused, record.Outcome);
        Assert.Contains("does not answer", record.Detail, StringComparison.Ordinal);
        Assert.False(_rig.IsQuarantined(V2));
        Assert.Null(await _rig.InspectAsync(Green));
    }

    [Fact]
    public async Task NewSlotDiesDuringTheBake_SwitchesBackToTheOldSlotWhichNeverStopped()
    {
        await LiveV1OnBlueAsync();
        _rig.Registry.Push("latest", V2, ImageBehaviour.Healthy);
        var blueBefore = (await _rig.InspectAsync(Blue))!.Id;
        // A long bake (in fake time), so the new slot surely dies inside it.
        _rig.HealthGate.StableFor = TimeSpan.FromSeconds(1);
        _rig.HealthGate.BakeTime = TimeSpan.FromDays(1);
        var deploy = _rig.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);
        await WaitForAsync(() => _rig.State.Current.ActiveSlotRollout?.Phase == SlotPhases.Bake);
        _rig.Engine.Kill(Green, 137);

        var record = await deploy;

        Assert.Equal(RolloutOutcome.RolledBack, record.Outcome);
        Assert.StartsWith("bake failed", record.Detail, StringComparison.Ordinal);
        Assert.True(_rig.IsQuarantined(V2));
        Assert.Equal(EdgeSlot.Blue, _rig.Edge.FileLive);
        Assert.Equal(blueBefore, (await _rig.InspectAsync(Blue))!.Id);
        Assert.Null(await _rig.InspectAsync(Green));
        Assert.Equal(V1, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task EdgeRestartedDuringTheBake_ComesBackWithTheOldSlotsStandby_SoTheCandidateDyingCostsNoCall()
    {
        await LiveV1OnBlueAsync();
        _rig.Registry.Push("latest", V2, ImageBehaviour.Healthy);
        _rig.HealthGate.StableFor = TimeSpan.FromSeconds(1);
        _rig.HealthGate.BakeTime = TimeSpan.FromDays(1);
        var deploy = _rig.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);
        await WaitForAsync(() => _rig.State.Current.ActiveSlotRollout?.Phase == SlotPhases.Bake);

        _rig.Edge.RestartProcess();

        Assert.Equal(EdgeAdminState.Ready, _rig.Edge.Admin(EdgeSlot.Blue, standby: true));
        Assert.Equal(EdgeAdminState.Maintenance, _rig.Edge.Admin(EdgeSlot.Blue));
        Assert.Equal(EdgeSlot.Green, _rig.Edge.Route());
        _rig.Engine.Kill(Green, 137);
        // Before the deployer has noticed anything, the edge itself sends the next call to the old slot's standby.
        Assert.Equal(EdgeSlot.Blue, _rig.Edge.Route());
        var record = await deploy;
        Assert.Equal(RolloutOutcome.RolledBack, record.Outcome);
        Assert.Equal(V1, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task EdgeRestartedDuringTheSwitch_TheCandidateIsEnabledAgain_AndTheRolloutSucceedsWithoutQuarantine()
    {
        await LiveV1OnBlueAsync();
        _rig.Registry.Push("latest", V2, ImageBehaviour.Healthy);
        var restarted = false;
        _rig.Edge.BeforeCommand = command =>
        {
            // The switch's first look after enabling green: the edge has restarted from its file, which names blue.
            if (!restarted && command == "show stat" && _rig.Edge.Admin(EdgeSlot.Green) == EdgeAdminState.Ready && _rig.Edge.FileLive == EdgeSlot.Blue)
            {
                restarted = true;
                _rig.Edge.RestartProcess();
            }
        };

        var record = await _rig.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.True(restarted);
        Assert.Equal(RolloutOutcome.Succeeded, record.Outcome);
        Assert.False(_rig.IsQuarantined(V2));
        Assert.Equal(EdgeSlot.Green, _rig.Edge.FileLive);
        Assert.Equal(V2, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task EdgeRestartedDuringTheSwitch_CandidateNotUpInTime_IsNotTheImagesFault()
    {
        await LiveV1OnBlueAsync();
        _rig.Registry.Push("latest", V2, ImageBehaviour.Healthy);
        var restarted = false;
        _rig.Edge.BeforeCommand = command =>
        {
            // The edge restarts under the switch and, as after a daemon restart, the candidate is not serving yet.
            if (!restarted && command == "show stat" && _rig.Edge.Admin(EdgeSlot.Green) == EdgeAdminState.Ready && _rig.Edge.FileLive == EdgeSlot.Blue)
            {
                restarted = true;
                _rig.Edge.RestartProcess();
                // Stopped by the engine (SIGTERM's exit code), as a restarting daemon stops every container.
                _rig.Engine.Kill(Green, 143);
            }
        };

        var record = await _rig.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.True(restarted);
        Assert.NotEqual(RolloutOutcome.Succeeded, record.Outcome);
        Assert.False(_rig.IsQuarantined(V2));
        Assert.Equal(EdgeSlot.Blue, _rig.Edge.FileLive);
        Assert.Equal(V1, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task BetweenRollouts_TheLiveSlotsOwnStandbyIsTheBackup_InTheFileAndAfterARestart()
    {
        await LiveV1OnBlueAsync();
        _rig.Registry.Push("latest", V2, ImageBehaviour.Healthy);
        await _rig.BlueGreen.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        _rig.Edge.RestartProcess();

        Assert.Equal(EdgeAdminState.Ready, _rig.Edge.Admin(EdgeSlot.Green, standby: true));
        Assert.Equal(EdgeAdminState.Maintenance, _rig.Edge.Admin(EdgeSlot.Blue, standby: true));
        Assert.Equal(EdgeAdminState.Maintenance, _rig.Edge.Admin(EdgeSlot.Blue));
    }

    [Fact]
    public async Task KilledBeforeTheSwitch_RepairRemovesTheCandidate_AndTheNextRolloutStartsOver()
    {
        await LiveV1OnBlueAsync();
        _rig.ExistingSlot(EdgeSlot.Green, V2);
        Interrupted(SlotPhases.Candidate);

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Equal([Blue, "predictor-edge"], _rig.Engine.ContainerNames);
        Assert.Null(_rig.State.Current.ActiveSlotRollout);
        Assert.False(_rig.IsQuarantined(V2));
        Assert.Equal(V1, await _rig.PublicDigestAsync());
    }

    [Theory]
    [InlineData(SlotPhases.Gate)]
    [InlineData(SlotPhases.Bake)]
    public async Task KilledAfterTheSwitch_RepairSwitchesBackToThePreviousSlot(string phase)
    {
        await LiveV1OnBlueAsync();
        _rig.ExistingSlot(EdgeSlot.Green, V2);
        await _rig.Edge.SwitchAsync(_rig.Layout(EdgeSlot.Green), CancellationToken.None);
        Interrupted(phase);

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Equal(EdgeSlot.Blue, _rig.Edge.FileLive);
        Assert.Equal([Blue, "predictor-edge"], _rig.Engine.ContainerNames);
        Assert.Equal(RolloutOutcome.RolledBack, _rig.State.Current.LastRollout!.Outcome);
        Assert.Equal(RolloutKinds.Resume, _rig.State.Current.LastRollout.Kind);
        Assert.Null(_rig.State.Current.ActiveSlotRollout);
        Assert.Equal(V1, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task KilledWhileRetiringTheOldSlot_RepairFinishesAndCommits()
    {
        await LiveV1OnBlueAsync();
        _rig.ExistingSlot(EdgeSlot.Green, V2);
        await _rig.Edge.SwitchAsync(_rig.Layout(EdgeSlot.Green), CancellationToken.None);
        Interrupted(SlotPhases.Retire);

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Equal(EdgeSlot.Green, _rig.Edge.FileLive);
        Assert.Equal(["predictor-edge", Green], _rig.Engine.ContainerNames);
        Assert.Equal(RolloutOutcome.Succeeded, _rig.State.Current.LastRollout!.Outcome);
        Assert.Equal(V2, _rig.State.Current.GoodDigests[0]);
        Assert.Equal(V2, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task KilledAfterTheSwitch_PreviousSlotGone_KeepsTheCandidateAndSaysSo()
    {
        await LiveV1OnBlueAsync();
        _rig.ExistingSlot(EdgeSlot.Green, V2);
        await _rig.Edge.SwitchAsync(_rig.Layout(EdgeSlot.Green), CancellationToken.None);
        await _rig.Engine.RemoveAsync(Blue, CancellationToken.None);
        Interrupted(SlotPhases.Gate);

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Equal(EdgeSlot.Green, _rig.Edge.FileLive);
        Assert.Equal(RolloutOutcome.Failed, _rig.State.Current.LastRollout!.Outcome);
        Assert.Contains(_rig.BlueGreenLogs.Entries, e => e.Id.Id == 1072);
        Assert.Equal(V2, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task EdgeRemoved_RepairCreatesItAgainFromTheFile()
    {
        await LiveV1OnBlueAsync();
        _rig.ExistingSlot(EdgeSlot.Green, V2);
        await _rig.Edge.SwitchAsync(_rig.Layout(EdgeSlot.Green), CancellationToken.None);
        await _rig.Engine.RemoveAsync(Blue, CancellationToken.None);
        await _rig.Engine.RemoveAsync("predictor-edge", CancellationToken.None);
        Assert.Null(await _rig.PublicDigestAsync());

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Equal(V2, await _rig.PublicDigestAsync());
        Assert.Contains(_rig.BlueGreenLogs.Entries, e => e.Id.Id == 1074);
    }

    [Fact]
    public async Task SlotStartedBeforeTheSlotNetwork_RepairAttachesItAtItsAddress()
    {
        _rig.Engine.AddLocalImage(PlanRig.Repository, V1, ImageBehaviour.Healthy);
        _rig.Engine.AddContainer(SlotContainer.Spec(_rig.Container, _rig.EdgeOptions, EdgeSlot.Blue, PlanRig.Repository, V1, "earlier") with { Network = null }, "running");
        await _rig.ExistingEdgeAsync(EdgeSlot.Blue);
        Assert.Empty(_rig.Engine.NetworksOf(Blue));

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        var network = EdgeSlotNetwork.Create(_rig.EdgeOptions)!;
        Assert.Equal([network.For(EdgeSlot.Blue)], _rig.Engine.NetworksOf(Blue));
        Assert.Equal(V1, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task RecreateHost_IsMigratedToBlue_AndTheOldContainerGoes()
    {
        _rig.Existing("predictor", V1, "running");

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Equal(["predictor-blue", "predictor-edge"], _rig.Engine.ContainerNames);
        Assert.Equal(EdgeSlot.Blue, _rig.Edge.FileLive);
        Assert.Equal(RolloutKinds.Migrate, _rig.State.Current.LastRollout!.Kind);
        Assert.Equal(V1, _rig.State.Current.GoodDigests[0]);
        Assert.Equal(V1, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task RecreateContainerOfAnotherImage_CannotBeMigrated_AndTheEdgeIsLeftAlone()
    {
        _rig.Engine.AddLocalImage("someone/else", V1, ImageBehaviour.Healthy);
        _rig.Engine.AddContainer(new ContainerSpec("predictor", $"someone/else@{V1}", [new PortBinding("127.0.0.1", 18000, 8000)],
            new Dictionary<string, string>(), new Dictionary<string, string>(), "unless-stopped", 0, 0), "running");

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Equal(["predictor"], _rig.Engine.ContainerNames);
        Assert.Null(_rig.Edge.FileLive);
        Assert.Contains(_rig.BlueGreenLogs.Entries, e => e.Id.Id == 1078);
    }

    [Fact]
    public async Task BothSlotsRunningBetweenRollouts_TheOneThatIsNotLiveIsRemoved()
    {
        await LiveV1OnBlueAsync();
        _rig.ExistingSlot(EdgeSlot.Green, V2);

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Equal([Blue, "predictor-edge"], _rig.Engine.ContainerNames);
        Assert.Contains(_rig.BlueGreenLogs.Entries, e => e.Id.Id == 1070);
    }

    [Fact]
    public async Task EdgeImageChangedButNotPullable_TheRunningEdgeIsKept_AndStatusSaysWhy()
    {
        await LiveV1OnBlueAsync();
        var edgeBefore = (await _rig.InspectAsync("predictor-edge"))!.Id;
        _rig.EdgeOptions.Image = "127.0.0.1:5000/student-performance-edge@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Equal(edgeBefore, (await _rig.InspectAsync("predictor-edge"))!.Id);
        Assert.Equal(V1, await _rig.PublicDigestAsync());
        var status = await _rig.BlueGreen.DescribeAsync(CancellationToken.None);
        Assert.Contains("Deployer:Edge:Image", status.Edge!.ImageProblem, StringComparison.Ordinal);
        Assert.Contains("manifest unknown", status.Edge.ImageProblem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EdgeImageInTheSameRegistry_IsPulledWithItsCredentials_ThenTheEdgeIsReplaced()
    {
        await LiveV1OnBlueAsync();
        const string NewEdge = "sha256:abababababababababababababababababababababababababababababababab";
        _rig.Registry.Push("edge", NewEdge, ImageBehaviour.Healthy);
        _rig.EdgeOptions.Image = $"127.0.0.1:5000/student-performance-edge@{NewEdge}";

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Contains($"Pull 127.0.0.1:5000/student-performance-edge@{NewEdge}", _rig.Engine.Calls);
        Assert.Equal(_rig.EdgeOptions.Image, (await _rig.InspectAsync("predictor-edge"))!.Labels[ContainerLabels.Image]);
        Assert.Equal(V1, await _rig.PublicDigestAsync());
        Assert.Null((await _rig.BlueGreen.DescribeAsync(CancellationToken.None)).Edge!.ImageProblem);
    }

    [Fact]
    public async Task EmptyStateFileAtStart_TheDeployerStarts_AndReconciliationRecordsTheServingLiveDigestAsGood()
    {
        _rig.ExistingSlot(EdgeSlot.Green, V2);
        await _rig.ExistingEdgeAsync(EdgeSlot.Green);
        _rig.StateFileText = "";

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.True(_rig.State.Rebuilt);
        Assert.Equal([V2], _rig.State.Current.GoodDigests);
        Assert.Equal(V2, await _rig.PublicDigestAsync());
        Assert.Equal(["predictor-edge", Green], _rig.Engine.ContainerNames);
    }

    [Fact]
    public async Task FileNamesASlotThatDoesNotServe_ReconciliationRoutesToTheOneThatDoes_AndKeepsIt()
    {
        // The outage in the issue: the file named the candidate, which a failure path had removed.
        await LiveV1OnBlueAsync();
        await _rig.Edge.WriteConfigAsync(_rig.Layout(EdgeSlot.Green), CancellationToken.None);

        await _rig.BlueGreen.RepairAsync(CancellationToken.None);

        Assert.Equal(EdgeSlot.Blue, _rig.Edge.FileLive);
        Assert.Equal([Blue, "predictor-edge"], _rig.Engine.ContainerNames);
        Assert.Equal(V1, await _rig.PublicDigestAsync());
        Assert.Contains(_rig.BlueGreenLogs.Entries, e => e.Id.Id == 1085);
    }

    public void Dispose() => _rig.Dispose();

    private async Task LiveV1OnBlueAsync()
    {
        _rig.ExistingSlot(EdgeSlot.Blue, V1);
        await _rig.ExistingEdgeAsync(EdgeSlot.Blue);
        _rig.State.Update(s => s with { GoodDigests = [V1] });
    }

    /// <summary>The state file as a deployer killed in <paramref name="phase"/> of a V1 (blue) to V2 (green) rollout left it.</summary>
    private void Interrupted(string phase) =>
        _rig.State.Update(s => s with { ActiveSlotRollout = new SlotRollout("killed", V2, RolloutKinds.Deploy, "green", "blue", phase) });

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            Assert.True(TimeProvider.System.GetElapsedTime(deadline) < TimeSpan.FromSeconds(10), "the rollout did not reach the bake");
            await Task.Yield();
        }
    }
}
