using Deployer.Tests.Support;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Rollout;
using static Deployer.Tests.Support.PlanRig;

namespace Deployer.Tests.Rollout;

/// <summary>Every path of the rollout plan, over the in-memory engine and registry and fake time.</summary>
public sealed class RolloutPlanTests : IDisposable
{
    private readonly PlanRig _rig = new();

    [Fact]
    public async Task DeployAsync_HealthyImage_SucceedsAndKeepsNoPrevious()
    {
        _rig.LiveV1AndPushedV2(ImageBehaviour.Healthy);

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Succeeded, record.Outcome);
        Assert.Equal(["predictor"], _rig.Engine.ContainerNames);
        Assert.Equal(V2, (await _rig.InspectAsync("predictor"))!.DeployedDigest);
        Assert.Equal(V2, _rig.State.Current.GoodDigests[0]);
        Assert.NotNull(record.Downtime);
    }

    [Fact]
    public async Task DeployAsync_PullUnauthorized_RefreshesCredentialsOnceAndSucceeds()
    {
        _rig.LiveV1AndPushedV2(ImageBehaviour.Healthy);
        await _rig.Registry.GetPullCredentialsAsync(CancellationToken.None);
        _rig.Registry.ExpireCredentials();

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Succeeded, record.Outcome);
        Assert.Equal(1, _rig.Registry.Invalidations);
        Assert.Equal(2, _rig.Registry.CredentialFetches);
        Assert.Equal(2, _rig.Engine.Calls.Count(c => c.StartsWith("Pull ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task DeployAsync_PullUnauthorizedAfterRefresh_RefusesAndLeavesTheLiveContainer()
    {
        _rig.LiveV1AndPushedV2(ImageBehaviour.Healthy);
        _rig.Engine.Fail(EngineOperation.Pull, null, new ContainerRuntimeException("unauthorized", isTransient: false, isUnauthorized: true), times: 2);

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Refused, record.Outcome);
        Assert.Equal(1, _rig.Registry.Invalidations);
        Assert.False(_rig.IsQuarantined(V2));
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task DeployAsync_ImagePrunedByOthersBetweenPullAndCreate_IsPulledAgainAndRollsOut()
    {
        _rig.LiveV1AndPushedV2(ImageBehaviour.Healthy);
        _rig.Engine.Fail(EngineOperation.Create, "predictor", new ContainerRuntimeException("create container: engine answered 404: No such image", isTransient: false, isMissingImage: true));

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Succeeded, record.Outcome);
        Assert.False(_rig.IsQuarantined(V2));
        Assert.Contains(_rig.StepLogs.Entries, e => e.Id.Id == 1081);
        await AssertServesAsync(V2);
    }

    [Fact]
    public async Task DeployAsync_EngineRefusesCreate_RollsBackAndQuarantines()
    {
        _rig.LiveV1AndPushedV2(ImageBehaviour.Healthy);
        _rig.Engine.Fail(EngineOperation.Create, "predictor", new ContainerRuntimeException("invalid mount config", isTransient: false));

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.RolledBack, record.Outcome);
        Assert.Contains("the new container did not start", record.Detail, StringComparison.Ordinal);
        Assert.True(_rig.IsQuarantined(V2));
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task DeployAsync_EngineRefusesStart_RollsBackAndQuarantines()
    {
        _rig.LiveV1AndPushedV2(ImageBehaviour.Healthy);
        _rig.Engine.Fail(EngineOperation.Start, "predictor", new ContainerRuntimeException("exec: \"/app/Predictor\": not found", isTransient: false));

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.RolledBack, record.Outcome);
        Assert.True(_rig.IsQuarantined(V2));
        Assert.NotNull(record.Downtime);
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task DeployAsync_EngineFailsTransientlyAfterTheSwap_RollsBackWithoutQuarantine()
    {
        _rig.LiveV1AndPushedV2(ImageBehaviour.Healthy);
        _rig.Engine.Fail(EngineOperation.Stop, "predictor-previous", new ContainerRuntimeException("connection refused", isTransient: true));

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.RolledBack, record.Outcome);
        Assert.False(_rig.IsQuarantined(V2));
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task DeployAsync_RollbackFails_FinishesFailedAndTheNextRepairRestores()
    {
        _rig.Preflight.Enabled = false;
        _rig.LiveV1AndPushedV2(new ImageBehaviour(Serves: false));
        _rig.Engine.Fail(EngineOperation.Rename, "predictor-previous", new ContainerRuntimeException("engine restarting", isTransient: true));

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Failed, record.Outcome);
        Assert.Contains(_rig.Logs.Entries, e => e.Id.Id == 1006);
        Assert.Equal(["predictor-previous"], _rig.Engine.ContainerNames);

        await _rig.Plan.RepairAsync(CancellationToken.None);

        Assert.Equal(RolloutOutcome.RolledBack, _rig.State.Current.LastRollout!.Outcome);
        Assert.True(_rig.IsQuarantined(V2));
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task DeployAsync_NothingToRollBackTo_FinishesFailed()
    {
        _rig.Preflight.Enabled = false;
        _rig.Registry.Push("latest", V2, new ImageBehaviour(Serves: false));

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Failed, record.Outcome);
        Assert.Contains(_rig.Logs.Entries, e => e.Id.Id == 1007);
        Assert.Empty(_rig.Engine.ContainerNames);
    }

    [Fact]
    public async Task DeployAsync_PreflightCandidateExits_RefusesAndLeavesTheLiveContainer()
    {
        _rig.LiveV1AndPushedV2(new ImageBehaviour(ExitsWith: 3));

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Refused, record.Outcome);
        Assert.Contains("exited with code 3", record.Detail, StringComparison.Ordinal);
        Assert.True(_rig.IsQuarantined(V2));
        Assert.DoesNotContain("Stop predictor", _rig.Engine.Calls);
        Assert.Equal(["predictor"], _rig.Engine.ContainerNames);
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task DeployAsync_PreflightNeverServing_RefusesAfterTheTimeout()
    {
        _rig.Preflight.Timeout = TimeSpan.FromSeconds(45);
        _rig.LiveV1AndPushedV2(new ImageBehaviour(Serves: false));
        var started = _rig.Time.GetTimestamp();

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Refused, record.Outcome);
        Assert.Contains("not SERVING within Deployer:Preflight:Timeout", record.Detail, StringComparison.Ordinal);
        Assert.InRange(_rig.Time.GetElapsedTime(started), TimeSpan.FromSeconds(44), TimeSpan.FromSeconds(46));
        Assert.Equal(["predictor"], _rig.Engine.ContainerNames);
        await AssertServesAsync(V1);
    }

    [Theory]
    [InlineData(250.0)]
    [InlineData(double.NaN)]
    public async Task DeployAsync_GoldenAnswerOutOfRange_Refuses(double score)
    {
        _rig.LiveV1AndPushedV2(new ImageBehaviour(GoldenScore: score));

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Refused, record.Outcome);
        Assert.Contains("golden math_score", record.Detail, StringComparison.Ordinal);
        Assert.True(_rig.IsQuarantined(V2));
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task DeployAsync_GateNeverServing_RollsBackAfterTheDeadline()
    {
        _rig.Preflight.Enabled = false;
        _rig.LiveV1AndPushedV2(new ImageBehaviour(Serves: false));

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.RolledBack, record.Outcome);
        Assert.Contains("health gate failed: not SERVING within", record.Detail, StringComparison.Ordinal);
        Assert.True(_rig.IsQuarantined(V2));
        Assert.Equal(["predictor"], _rig.Engine.ContainerNames);
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task DeployAsync_GateSeesACrashLoop_RollsBack()
    {
        _rig.Preflight.Enabled = false;
        _rig.LiveV1AndPushedV2(new ImageBehaviour(ExitsWith: 139));

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.RolledBack, record.Outcome);
        Assert.StartsWith("health gate failed", record.Detail, StringComparison.Ordinal);
        Assert.True(_rig.IsQuarantined(V2));
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task DeployAsync_DiskLowAfterPruning_RefusesBeforePulling()
    {
        _rig.LiveV1AndPushedV2(ImageBehaviour.Healthy);
        const string Old1 = "sha256:0000000000000000000000000000000000000000000000000000000000000001";
        const string Old2 = "sha256:0000000000000000000000000000000000000000000000000000000000000002";
        _rig.Engine.AddLocalImage(Repository, Old1, ImageBehaviour.Healthy);
        _rig.Engine.AddLocalImage(Repository, Old2, ImageBehaviour.Healthy);
        _rig.State.Update(s => s with { GoodDigests = [V1] });
        _rig.Engine.FreeBytes = 1024L * 1024 * 1024;

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Refused, record.Outcome);
        Assert.Contains("not enough disk space", record.Detail, StringComparison.Ordinal);
        Assert.False(_rig.IsQuarantined(V2));
        Assert.False(_rig.Engine.HasImage(V2));
        Assert.False(_rig.Engine.HasImage(Old1));
        Assert.True(_rig.Engine.HasImage(Old2));
        Assert.True(_rig.Engine.HasImage(V1));
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task DeployAsync_DiskLowButPruningFreesEnough_Succeeds()
    {
        _rig.LiveV1AndPushedV2(ImageBehaviour.Healthy);
        const string Old1 = "sha256:0000000000000000000000000000000000000000000000000000000000000001";
        const string Old2 = "sha256:0000000000000000000000000000000000000000000000000000000000000002";
        _rig.Engine.AddLocalImage(Repository, Old1, ImageBehaviour.Healthy, size: 1024L * 1024 * 1024);
        _rig.Engine.AddLocalImage(Repository, Old2, ImageBehaviour.Healthy);
        _rig.State.Update(s => s with { GoodDigests = [V1] });
        _rig.Engine.FreeBytes = 1536L * 1024 * 1024;

        var record = await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Succeeded, record.Outcome);
        Assert.False(_rig.Engine.HasImage(Old1));
        await AssertServesAsync(V2);
    }

    [Fact]
    public async Task RepairAsync_LeftoverPreflightContainer_IsRemoved()
    {
        _rig.Existing("predictor", V1, "running");
        _rig.Existing("predictor-preflight", V2, "running");

        await _rig.Plan.RepairAsync(CancellationToken.None);

        Assert.Equal(["predictor"], _rig.Engine.ContainerNames);
        Assert.Null(_rig.State.Current.LastRollout);
    }

    [Fact]
    public async Task RepairAsync_CurrentStoppedAndNoPrevious_StartsIt()
    {
        _rig.Existing("predictor", V1, "exited");

        await _rig.Plan.RepairAsync(CancellationToken.None);

        await AssertServesAsync(V1);
        Assert.Null(_rig.State.Current.LastRollout);
    }

    [Fact]
    public async Task RepairAsync_CurrentMissingAndPreviousStopped_RestoresThePrevious()
    {
        _rig.Existing("predictor-previous", V1, "exited");

        await _rig.Plan.RepairAsync(CancellationToken.None);

        Assert.Equal(RolloutOutcome.RolledBack, _rig.State.Current.LastRollout!.Outcome);
        Assert.Equal(RolloutKinds.Resume, _rig.State.Current.LastRollout.Kind);
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task RepairAsync_NewOneCreatedButNeverStarted_RestoresWithoutQuarantine()
    {
        _rig.Existing("predictor-previous", V1, "exited");
        _rig.Existing("predictor", V2, "created");

        await _rig.Plan.RepairAsync(CancellationToken.None);

        Assert.False(_rig.IsQuarantined(V2));
        Assert.Equal(["predictor"], _rig.Engine.ContainerNames);
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task RepairAsync_NewOneFoundExited_RestoresAndQuarantines()
    {
        _rig.Existing("predictor-previous", V1, "exited");
        _rig.Existing("predictor", V2, "exited");

        await _rig.Plan.RepairAsync(CancellationToken.None);

        Assert.True(_rig.IsQuarantined(V2));
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task RepairAsync_InterruptedAfterTheSwapAndHealthy_GatesAndCommits()
    {
        _rig.Existing("predictor-previous", V1, "exited");
        _rig.Existing("predictor", V2, "running");

        await _rig.Plan.RepairAsync(CancellationToken.None);

        Assert.Equal(RolloutOutcome.Succeeded, _rig.State.Current.LastRollout!.Outcome);
        Assert.Equal(["predictor"], _rig.Engine.ContainerNames);
        Assert.Equal(V2, _rig.State.Current.GoodDigests[0]);
        await AssertServesAsync(V2);
    }

    [Fact]
    public async Task RepairAsync_InterruptedAfterTheSwapAndNotServing_RollsBack()
    {
        _rig.Existing("predictor-previous", V1, "exited");
        _rig.Existing("predictor", V2, "running", new ImageBehaviour(Serves: false));

        await _rig.Plan.RepairAsync(CancellationToken.None);

        Assert.Equal(RolloutOutcome.RolledBack, _rig.State.Current.LastRollout!.Outcome);
        Assert.True(_rig.IsQuarantined(V2));
        await AssertServesAsync(V1);
    }

    [Fact]
    public async Task OperatorRollback_EarlierGoodDigest_RedeploysItAndQuarantinesTheRunningOne()
    {
        _rig.LiveV1AndPushedV2(ImageBehaviour.Healthy);
        await _rig.Plan.DeployAsync(V2, RolloutKinds.Deploy, CancellationToken.None);
        _rig.State.Update(s => s with { GoodDigests = [V2, V1] });

        var target = _rig.Steps.OperatorRollbackTarget(V2);
        var record = await _rig.Plan.DeployAsync(target!, RolloutKinds.Rollback, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Succeeded, record!.Outcome);
        Assert.Equal(RolloutKinds.Rollback, record.Kind);
        Assert.True(_rig.IsQuarantined(V2));
        await AssertServesAsync(V1);
    }

    public void Dispose() => _rig.Dispose();

    private async Task AssertServesAsync(string digest)
    {
        var live = await _rig.InspectAsync("predictor");
        Assert.NotNull(live);
        Assert.True(live.State.Running, $"predictor is {live.State.Status}");
        Assert.Equal(digest, live.DeployedDigest);
        Assert.Null(await _rig.InspectAsync("predictor-previous"));
        Assert.Null(await _rig.InspectAsync("predictor-preflight"));
    }
}
