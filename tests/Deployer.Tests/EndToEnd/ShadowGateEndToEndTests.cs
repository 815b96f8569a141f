using System.Text.Json;
using Deployer.Tests.Support;
using Grpc.Net.Client;
using StudentPerformance.Features;
using StudentPerformance.V1;
using Xunit.Abstractions;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// The shadow step on the real engine and registry (Recreate, whose live container publishes its admin port on
/// loopback): clients' inputs reach the live model, and the next candidate is judged on them before any traffic.
/// MinSamples is lowered so that one batch of recent inputs is enough. Nothing here asserts a duration.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed class ShadowGateEndToEndTests(PredictorImages images, ShadowImages shadowImages, ITestOutputHelper output) : IAsyncLifetime, IClassFixture<ShadowImages>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(120);
    private static readonly IReadOnlyList<StudentRow> Traffic = StudentCsv.Read(Path.Combine(PredictorImages.RepositoryRoot, "data", "sample", "students.csv"), requireLabel: true).Rows;
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Shadow_CandidateShiftedWhereTheGoldenSetIsThin_PassesTheLabelledGateAndIsRefusedWithTheLiveModelUntouched()
    {
        // Arrange: v1 live, and its clients send group A students (89 in the sample; 20 rows of the golden set).
        Assert.NotNull(shadowImages);
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(Settings());
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        await SendAsync(Traffic.Where(r => r.RaceEthnicity == "group A"));
        var before = await _rig.InspectAsync(_rig.ContainerName);

        // Act
        var shifted = await _rig.PushAsync(ShadowImages.ShiftedGroupA);
        await WaitForRolloutAsync(deployer, shifted, "Refused");

        // Assert: the labelled gate passed; the shadow step refused; the live container is the same one.
        WriteGateLog(deployer);
        var status = await deployer.StatusAsync();
        Assert.StartsWith("shadow step refused the image: ", status.GetProperty("lastRollout").GetProperty("detail").GetString(), StringComparison.Ordinal);
        var gate = status.GetProperty("qualityGate");
        Assert.Equal("passed", gate.GetProperty("result").GetString());
        Assert.Equal(JsonValueKind.Object, gate.GetProperty("rmseDifference").ValueKind);
        var shadow = gate.GetProperty("shadow");
        Assert.Equal("refused", shadow.GetProperty("result").GetString());
        Assert.Equal(89, shadow.GetProperty("compared").GetInt32());
        Assert.True(shadow.GetProperty("absoluteDelta").GetProperty("p50").GetDouble() > 5, shadow.ToString());
        Assert.Contains(shadow.GetProperty("refusals").EnumerateArray(), r => r.GetString()!.EndsWith("(Deployer:ShadowGate:MaxShareBeyondTolerance)", StringComparison.Ordinal));
        Assert.Contains(shifted, await deployer.QuarantinedAsync());
        var after = await _rig.InspectAsync(_rig.ContainerName);
        Assert.Equal((before!.ID, before.State.StartedAt), (after!.ID, after.State.StartedAt));
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        Assert.Contains("deployer_shadow_gate_total{result=\"refused\"} 1", await deployer.GetAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shadow_CandidateRejectingInputsTheLiveModelAccepts_IsRefusedNamingTheCount()
    {
        // Arrange: the live model knows "group F"; 30 of its clients' 130 recent students are in it.
        await _rig.PushAsync(ShadowImages.KnowsGroupF);
        var deployer = await _rig.StartDeployerAsync(Settings());
        await Probes.WaitUntilAsync(_rig.IsServingAsync, Long, "the group F model to serve", () => deployer.Logs.Text);
        var groupF = Traffic.Where(r => r.RaceEthnicity == "group E").Take(30).Select(r => r with { RaceEthnicity = "group F" });
        await SendAsync(Traffic.Take(100).Concat(groupF));

        // Act: v2 was trained on groups A to E only.
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await WaitForRolloutAsync(deployer, v2, "Refused");

        // Assert
        WriteGateLog(deployer);
        var status = await deployer.StatusAsync();
        Assert.Equal("passed", status.GetProperty("qualityGate").GetProperty("result").GetString());
        Assert.Contains("the candidate rejects 30 of 130 recent inputs that the live model accepts > 0 (Deployer:ShadowGate:MaxRejected)",
            status.GetProperty("lastRollout").GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(30, status.GetProperty("qualityGate").GetProperty("shadow").GetProperty("candidateRejected").GetInt32());
    }

    [Fact]
    public async Task Shadow_SeedTwoModel_PassesBothGatesAndRollsOut()
    {
        // Arrange
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(Settings());
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        await SendAsync(Traffic.Take(300));

        // Act
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await WaitForRolloutAsync(deployer, v2, "Succeeded");

        // Assert
        WriteGateLog(deployer);
        Assert.Equal(images.V2ModelVersion, await _rig.ModelVersionAsync());
        var gate = (await deployer.StatusAsync()).GetProperty("qualityGate");
        Assert.Equal("passed", gate.GetProperty("result").GetString());
        var shadow = gate.GetProperty("shadow");
        Assert.Equal("passed", shadow.GetProperty("result").GetString());
        Assert.Equal(300, shadow.GetProperty("compared").GetInt32());
        Assert.Equal(0, shadow.GetProperty("candidateRejected").GetInt32());
        Assert.True(shadow.GetProperty("absoluteDelta").GetProperty("p99").GetDouble() < 3, shadow.ToString());
    }

    private static Dictionary<string, string?> Settings() => new()
    {
        ["Deployer:ShadowGate:MinSamples"] = "50",
    };

    private async Task SendAsync(IEnumerable<StudentRow> rows)
    {
        using var channel = GrpcChannel.ForAddress(_rig.PredictorAddress);
        var request = new PredictBatchRequest();
        request.Students.AddRange(rows.Select(r => new Student
        {
            Gender = r.Gender,
            RaceEthnicity = r.RaceEthnicity,
            ParentalLevelOfEducation = r.ParentalLevelOfEducation,
            Lunch = r.Lunch,
            TestPreparationCourse = r.TestPreparationCourse,
            ReadingScore = r.ReadingScore,
            WritingScore = r.WritingScore,
        }));
        await new Predictor.PredictorClient(channel).PredictBatchAsync(request);
    }

    private void WriteGateLog(DeployerInstance deployer)
    {
        foreach (var line in deployer.Logs.Text.Split('\n').Where(l => l.Contains("gate", StringComparison.OrdinalIgnoreCase) || l.Contains("shadow", StringComparison.OrdinalIgnoreCase)))
        {
            output.WriteLine(line);
        }
    }

    private async Task WaitForVersionAsync(DeployerInstance deployer, string modelVersion) =>
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == modelVersion, Long, $"model version {modelVersion}", () => deployer.Logs.Text);

    private static Task WaitForRolloutAsync(DeployerInstance deployer, string digest, string outcome) => deployer.WaitForRolloutAsync(digest, outcome, Long);
}
