using Deployer.Tests.Support;
using StudentPerformance.Deployer.Edge;
using StudentPerformance.Deployer.Registry;
using StudentPerformance.Deployer.Rollout;

namespace Deployer.Tests.Rollout;

/// <summary>
/// The signature step of both plans over the in-memory engine, edge and registry: a digest the key did not sign is
/// refused and quarantined before the pull, and a registry that cannot answer refuses without blaming the image.
/// </summary>
public sealed class SignatureStepTests : IDisposable
{
    private readonly PlanRig _rig = new();
    private readonly CosignSigner _signer = new();
    private readonly CosignSigner _stranger = new();
    private readonly string _keys = Directory.CreateTempSubdirectory("sp-keys-").FullName;

    public SignatureStepTests()
    {
        _rig.Signature.PublicKeyPath = _signer.WritePublicKey(_keys);
        _rig.Signature.Required = true;
    }

    [Fact]
    public async Task BlueGreen_SignedDigest_RollsOut()
    {
        await LiveV1OnBlueAsync();
        _rig.Registry.Push("latest", PlanRig.V2, ImageBehaviour.Healthy);
        _rig.Registry.Sign(PlanRig.V2, _signer);

        var record = await _rig.BlueGreen.DeployAsync(PlanRig.V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Succeeded, record.Outcome);
        Assert.Equal(PlanRig.V2, await _rig.PublicDigestAsync());
    }

    [Theory]
    [InlineData(false, "unsigned")]
    [InlineData(true, "not by the key")]
    public async Task BlueGreen_UnsignedOrOtherKey_RefusedAndQuarantinedBeforeThePull(bool signedByStranger, string why)
    {
        await LiveV1OnBlueAsync();
        _rig.Registry.Push("latest", PlanRig.V2, ImageBehaviour.Healthy);
        if (signedByStranger)
        {
            _rig.Registry.Sign(PlanRig.V2, _stranger);
        }

        var record = await _rig.BlueGreen.DeployAsync(PlanRig.V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Refused, record.Outcome);
        Assert.Contains(why, record.Detail, StringComparison.Ordinal);
        Assert.True(_rig.IsQuarantined(PlanRig.V2));
        Assert.Contains(why, _rig.State.Current.Quarantined.Single(q => q.Digest == PlanRig.V2).Reason, StringComparison.Ordinal);
        Assert.False(_rig.Engine.HasImage(PlanRig.V2));
        Assert.Empty(_rig.Edge.Switches);
        Assert.Equal(PlanRig.V1, await _rig.PublicDigestAsync());
    }

    [Fact]
    public async Task BlueGreen_RegistryFailsDuringTheCheck_RefusedWithoutQuarantine()
    {
        await LiveV1OnBlueAsync();
        _rig.Registry.Push("latest", PlanRig.V2, ImageBehaviour.Healthy);
        _rig.Registry.ArtifactFault = new RegistryException("registry down", isTransient: true);

        var record = await _rig.BlueGreen.DeployAsync(PlanRig.V2, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Refused, record.Outcome);
        Assert.False(_rig.IsQuarantined(PlanRig.V2));
        Assert.False(_rig.Engine.HasImage(PlanRig.V2));
    }

    [Fact]
    public async Task Recreate_Unsigned_RefusedAndQuarantinedBeforeThePull()
    {
        _rig.Registry.Push("latest", PlanRig.V1, ImageBehaviour.Healthy);

        var record = await _rig.Plan.DeployAsync(PlanRig.V1, RolloutKinds.Deploy, CancellationToken.None);

        Assert.Equal(RolloutOutcome.Refused, record.Outcome);
        Assert.True(_rig.IsQuarantined(PlanRig.V1));
        Assert.False(_rig.Engine.HasImage(PlanRig.V1));
    }

    public void Dispose()
    {
        _rig.Dispose();
        _signer.Dispose();
        _stranger.Dispose();
        Directory.Delete(_keys, recursive: true);
    }

    private async Task LiveV1OnBlueAsync()
    {
        _rig.ExistingSlot(EdgeSlot.Blue, PlanRig.V1);
        await _rig.ExistingEdgeAsync(EdgeSlot.Blue);
        _rig.State.Update(s => s with { GoodDigests = [PlanRig.V1] });
    }
}
