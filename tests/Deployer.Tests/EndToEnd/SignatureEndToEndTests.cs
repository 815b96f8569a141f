using System.Text.Json;
using Deployer.Tests.Support;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// <c>Deployer:Signature:Required</c> under BlueGreen against the real registry, engine, edge and predictor images, with
/// cosign-format signatures pushed to the registry and the runtime API on its default unix socket: signed digests roll
/// out; an unsigned one and one signed by another key are refused and quarantined before any pull, the live slot
/// untouched, and a long-lived client loses no call.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed class SignatureEndToEndTests(PredictorImages images) : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(180);
    private readonly CosignSigner _signer = new();
    private readonly CosignSigner _stranger = new();
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    public void Dispose()
    {
        _signer.Dispose();
        _stranger.Dispose();
    }

    [Fact]
    public async Task OnlyDigestsSignedByTheKey_RollOut_OthersAreQuarantinedBeforeThePull()
    {
        // Arrange: v1, signed, is live; a client calls through the edge all along.
        var v1 = await PushSignedAsync(PredictorImages.V1, _signer);
        var deployer = await _rig.StartDeployerAsync(_rig.BlueGreen(new Dictionary<string, string?>
        {
            ["Deployer:Signature:PublicKeyPath"] = _signer.WritePublicKey(_rig.StateDirectory),
            ["Deployer:Signature:Required"] = "true",
            ["Deployer:Edge:RuntimeApi"] = $"unix:{_rig.StateDirectory}/edge-run/admin.sock",
        }));
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == images.V1ModelVersion, Long, "v1 through the edge", () => deployer.Logs.Text);
        await WaitForRolloutAsync(deployer, v1, "Succeeded");
        var live = (await deployer.StatusAsync()).GetProperty("liveSlot").GetString()!;
        var before = await _rig.InspectAsync(_rig.ContainerName + "-" + live);
        await using var client = new CallRecorder(_rig.PredictorAddress);
        await client.WaitForMoreCallsAsync(5, Long);

        // Act: a digest signed by another key, then an unsigned one, then v2 signed by the key.
        var strangers = await PushSignedAsync(PredictorImages.Crashing, _stranger);
        var byStranger = await WaitForRolloutAsync(deployer, strangers, "Refused");
        var quarantinedStranger = await deployer.QuarantinedAsync();
        var unsigned = await _rig.PushAsync(PredictorImages.ExitsLater);
        var refusedUnsigned = await WaitForRolloutAsync(deployer, unsigned, "Refused");
        var quarantinedUnsigned = await deployer.QuarantinedAsync();
        var untouched = await _rig.InspectAsync(_rig.ContainerName + "-" + live);
        var v2 = await PushSignedAsync(PredictorImages.V2, _signer);
        await WaitForRolloutAsync(deployer, v2, "Succeeded");
        await client.WaitForMoreCallsAsync(5, Long);

        // Assert
        Assert.Contains("not by the key", byStranger.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains("unsigned", refusedUnsigned.GetProperty("detail").GetString(), StringComparison.Ordinal);
        // (A quarantine lasts until the tag moves on, so each is read right after its refusal.)
        Assert.Contains(strangers, quarantinedStranger);
        Assert.Contains(unsigned, quarantinedUnsigned);
        Assert.Equal(before!.ID, untouched!.ID);
        Assert.Equal(before.State.StartedAt, untouched.State.StartedAt);
        var pulled = (await _rig.LocalImagesAsync()).SelectMany(i => i.RepoDigests ?? []).ToList();
        Assert.DoesNotContain(pulled, r => r.EndsWith(strangers, StringComparison.Ordinal) || r.EndsWith(unsigned, StringComparison.Ordinal));
        Assert.Equal(images.V2ModelVersion, await _rig.ModelVersionAsync());
        Assert.Empty(client.Failures);
        Assert.Empty(client.NotServing);
    }

    /// <summary>
    /// As CI must do it: push under a tag of its own, sign the digest, and only then move the tracked tag. A tracked
    /// tag that moved first would be seen unsigned, and quarantined, before the signature arrived.
    /// </summary>
    private async Task<string> PushSignedAsync(string image, CosignSigner signer)
    {
        var digest = await _rig.Registry.PushExistingAsync(image, _rig.Repository, "candidate-" + LocalRegistry.RandomSuffix());
        await signer.PushAsync(_rig.Registry, _rig.Repository, digest);
        Assert.Equal(digest, await _rig.PushAsync(image));
        return digest;
    }

    private static async Task<JsonElement> WaitForRolloutAsync(DeployerInstance deployer, string digest, string outcome)
    {
        JsonElement last = default;
        await Probes.WaitUntilAsync(
            async () =>
            {
                last = (await deployer.StatusAsync()).GetProperty("lastRollout");
                return last.ValueKind == JsonValueKind.Object && last.GetProperty("digest").GetString() == digest && last.GetProperty("outcome").GetString() == outcome;
            },
            Long,
            $"a {outcome} rollout of {digest}",
            () => deployer.Logs.Text);
        return last;
    }
}
