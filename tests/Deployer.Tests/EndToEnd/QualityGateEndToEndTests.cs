using System.Text.Json;
using Deployer.Tests.Support;
using Grpc.Net.Client;
using StudentPerformance.Deployer.Hosting;
using StudentPerformance.V1;
using Xunit.Abstractions;

namespace Deployer.Tests.EndToEnd;

/// <summary>
/// The model-quality gate on the real engine and registry, with images built from the real predictor image and
/// the deployer's default golden set (appsettings.json beside the executable). Nothing here asserts a duration.
/// </summary>
[Collection(DockerEndToEnd.Name)]
public sealed class QualityGateEndToEndTests(PredictorImages images, WrongLabelImage wrongLabels, ITestOutputHelper output) : IAsyncLifetime, IClassFixture<WrongLabelImage>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(120);
    private readonly List<string> _containers = [];
    private RolloutRig _rig = null!;

    public async Task InitializeAsync() => _rig = await RolloutRig.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var name in _containers)
        {
            await Cli.TryRunAsync(["rm", "-f", name]);
        }

        await _rig.DisposeAsync();
    }

    [Fact]
    public async Task QualityGate_WrongLabelModel_IsRefusedBeforeTheSwapAndQuarantined()
    {
        // Arrange: the image passes everything preflight checks, and claims a good holdout.
        Assert.NotNull(wrongLabels);
        var (_, wrong) = await RunAsync(WrongLabelImage.Tag);
        using (var channel = GrpcChannel.ForAddress(wrong))
        {
            var client = new Predictor.PredictorClient(channel);
            var golden = await client.PredictAsync(Google.Protobuf.JsonParser.Default.Parse<PredictRequest>(new StudentPerformance.Deployer.Readiness.PreflightOptions().GoldenRequest));
            Assert.InRange(golden.MathScore, 0, 100);
            var info = await client.GetModelInfoAsync(new GetModelInfoRequest());
            Assert.True(info.Holdout.R2 > 0.99, $"the wrong-label model claims holdout R² {info.Holdout.R2}");
        }

        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync();
        await WaitForVersionAsync(deployer, images.V1ModelVersion);
        var before = await _rig.InspectAsync(_rig.ContainerName);

        // Act
        var bad = await _rig.PushAsync(WrongLabelImage.Tag);
        await WaitForRolloutAsync(deployer, bad, "Refused");

        // Assert: refused by the gate, in preflight, with the live container untouched.
        WriteGateLog(deployer);
        var status = await deployer.StatusAsync();
        var detail = status.GetProperty("lastRollout").GetProperty("detail").GetString()!;
        Assert.StartsWith("quality gate refused the image: ", detail, StringComparison.Ordinal);
        Assert.Contains("(Deployer:QualityGate:MaxRelativeRmseIncrease)", detail, StringComparison.Ordinal);
        Assert.Contains(bad, await deployer.QuarantinedAsync());
        var after = await _rig.InspectAsync(_rig.ContainerName);
        Assert.Equal(before!.ID, after!.ID);
        Assert.Equal(before.State.StartedAt, after.State.StartedAt);
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
        Assert.Null(await _rig.InspectAsync(_rig.ContainerName + "-preflight"));

        var gate = status.GetProperty("qualityGate");
        Assert.Equal("refused", gate.GetProperty("result").GetString());
        Assert.Equal(200, gate.GetProperty("rows").GetInt32());
        var candidate = gate.GetProperty("candidate");
        var live = gate.GetProperty("live");
        Assert.Equal(images.V1ModelVersion, live.GetProperty("modelVersion").GetString());
        Assert.True(candidate.GetProperty("rmse").GetDouble() > 7, candidate.ToString());
        Assert.True(live.GetProperty("rmse").GetDouble() < 7, live.ToString());
        Assert.Contains(gate.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("claims holdout RMSE", StringComparison.Ordinal));
        var metrics = await deployer.GetAsync("/metrics");
        Assert.Contains("deployer_quality_gate_total{result=\"refused\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("deployer_quality_gate_candidate_rmse " + candidate.GetProperty("rmse").GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture)[..4], metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QualityGate_ModelWithAnotherSeed_RollsOutWithBothFiguresInStatusAndWebhook()
    {
        // Arrange
        await using var hook = await WebhookSink.StartAsync();
        var events = hook.Events;
        await _rig.PushAsync(PredictorImages.V1);
        var deployer = await _rig.StartDeployerAsync(new Dictionary<string, string?>(hook.Settings));
        await WaitForVersionAsync(deployer, images.V1ModelVersion);

        // Act
        var v2 = await _rig.PushAsync(PredictorImages.V2);
        await WaitForRolloutAsync(deployer, v2, "Succeeded");

        // Assert
        WriteGateLog(deployer);
        Assert.Equal(images.V2ModelVersion, await _rig.ModelVersionAsync());
        var gate = (await deployer.StatusAsync()).GetProperty("qualityGate");
        Assert.Equal("passed", gate.GetProperty("result").GetString());
        Assert.Equal(images.V2ModelVersion, gate.GetProperty("candidate").GetProperty("modelVersion").GetString());
        Assert.Equal(images.V1ModelVersion, gate.GetProperty("live").GetProperty("modelVersion").GetString());
        Assert.Empty(gate.GetProperty("refusals").EnumerateArray());
        Assert.True(gate.GetProperty("rmseDifference").GetProperty("lower").GetDouble() <= gate.GetProperty("allowedRmseIncrease").GetDouble(), gate.ToString());
        Assert.NotEmpty(gate.GetProperty("slices").EnumerateArray());

        // No client called v1, so its sample is empty (the gate's own calls are not sampled): the shadow step is
        // skipped with a warning that /status shows, and the rollout goes on.
        var shadow = gate.GetProperty("shadow");
        Assert.Equal("skipped", shadow.GetProperty("result").GetString());
        Assert.InRange(shadow.GetProperty("samples").GetInt32(), 0, 199);
        Assert.EndsWith("fewer than Deployer:ShadowGate:MinSamples (200)", Assert.Single(shadow.GetProperty("warnings").EnumerateArray()).GetString(), StringComparison.Ordinal);
        await Probes.WaitUntilAsync(() => Task.FromResult(events.Any(e => e.Contains(v2, StringComparison.Ordinal))), Long, "the success webhook", () => string.Join('\n', events));
        using var body = JsonDocument.Parse(events.Last(e => e.Contains(v2, StringComparison.Ordinal)));
        var figures = body.RootElement.GetProperty("qualityGate");
        Assert.Equal("passed", figures.GetProperty("result").GetString());
        Assert.Equal("skipped", figures.GetProperty("shadow").GetProperty("result").GetString());
        Assert.Equal(gate.GetProperty("candidate").GetProperty("rmse").GetDouble(), figures.GetProperty("candidate").GetProperty("rmse").GetDouble());
        Assert.Equal(gate.GetProperty("live").GetProperty("rmse").GetDouble(), figures.GetProperty("live").GetProperty("rmse").GetDouble());
        var metrics = await deployer.GetAsync("/metrics");
        Assert.Contains("deployer_quality_gate_total{result=\"passed\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("deployer_quality_gate_live_rmse ", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QualityGate_FirstDeployment_AppliesTheAbsoluteLimitsOnly()
    {
        // Arrange: no container holds the name. A relative limit of zero would refuse any model against a live one.
        var deployer = await _rig.StartDeployerAsync(new Dictionary<string, string?>
        {
            ["Deployer:QualityGate:MaxRelativeRmseIncrease"] = "0",
            ["Deployer:QualityGate:MaxAbsoluteDelta"] = "0",
        });

        // Act
        var wrong = await _rig.PushAsync(WrongLabelImage.Tag);
        await WaitForRolloutAsync(deployer, wrong, "Refused");
        var refused = (await deployer.StatusAsync()).GetProperty("qualityGate");
        var v1 = await _rig.PushAsync(PredictorImages.V1);
        await WaitForRolloutAsync(deployer, v1, "Succeeded");

        // Assert: the wrong model was refused on the absolute limits alone; V1 passed them with nothing to compare.
        WriteGateLog(deployer);
        Assert.Equal(JsonValueKind.Null, refused.GetProperty("live").ValueKind);
        Assert.Equal(
            ["(Deployer:QualityGate:MaxRmse)", "(Deployer:QualityGate:MinR2)"],
            refused.GetProperty("refusals").EnumerateArray().Select(r => r.GetString()![r.GetString()!.LastIndexOf('(')..]));
        var passed = (await deployer.StatusAsync()).GetProperty("qualityGate");
        Assert.Equal("passed", passed.GetProperty("result").GetString());
        Assert.Equal(JsonValueKind.Null, passed.GetProperty("live").ValueKind);
        Assert.Contains("first deployment", passed.GetProperty("liveNote").GetString(), StringComparison.Ordinal);
        Assert.Equal(images.V1ModelVersion, await _rig.ModelVersionAsync());
    }

    [Fact]
    public async Task QualityGate_GoldenSetWithABadRow_StopsTheDeployerAtStartNamingTheRow()
    {
        // Arrange: the shipped set with one label spelled out.
        await _rig.PushAsync(PredictorImages.V1);
        var path = Path.Combine(_rig.StateDirectory, "bad-golden.csv");
        var lines = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "golden", "students-golden.csv")).ToList();
        lines[41] = "male,group C,high school,standard,none,seventy,70,68";
        await File.WriteAllLinesAsync(path, lines);
        var log = new LogCollector();

        // Act
        var process = _rig.StartDeployerProcess(log, new Dictionary<string, string?> { ["Deployer:QualityGate:GoldenSetPath"] = path });
        using (var timeout = new CancellationTokenSource(Long))
        {
            await process.WaitForExitAsync(timeout.Token);
        }

        // Assert
        output.WriteLine(log.Text);
        Assert.NotEqual(0, process.ExitCode);
        Assert.True(log.Contains($"Deployer:QualityGate:GoldenSetPath: '{path}' line 42: math_score 'seventy' is not a number"), log.Text);
        Assert.Null(await _rig.InspectAsync(_rig.ContainerName));
    }

    [Fact]
    public async Task Evaluate_CandidateAgainstLive_ExitsOneForWrongLabelsAndZeroForAnotherSeed()
    {
        // Arrange: what CI does, against running containers.
        var (_, v1) = await RunAsync(PredictorImages.V1);
        var (_, v2) = await RunAsync(PredictorImages.V2);
        var (_, wrong) = await RunAsync(WrongLabelImage.Tag);
        var refusedOut = new StringWriter();
        var passedOut = new StringWriter();
        var errors = new StringWriter();

        // Act
        var refused = await DeployerCommandLine.InvokeAsync(["evaluate", "--candidate", wrong.ToString(), "--live", v1.ToString()], refusedOut, errors);
        var passed = await DeployerCommandLine.InvokeAsync(["evaluate", "--candidate", v2.ToString(), "--live", v1.ToString()], passedOut, errors);

        // Assert
        output.WriteLine(refusedOut.ToString());
        output.WriteLine(passedOut.ToString());
        Assert.Equal(1, refused);
        Assert.Contains("REFUSED: candidate RMSE", refusedOut.ToString(), StringComparison.Ordinal);
        Assert.Contains("(Deployer:QualityGate:MaxRelativeRmseIncrease)", refusedOut.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, passed);
        Assert.Contains("quality gate passed", passedOut.ToString(), StringComparison.Ordinal);
        Assert.Equal("", errors.ToString());
    }

    [Fact]
    public async Task Evaluate_BadUsage_ExitsTwoNamingTheOptions()
    {
        var errors = new StringWriter();

        var code = await DeployerCommandLine.InvokeAsync(["evaluate", "--live", "http://127.0.0.1:1", "--max-rmse"], new StringWriter(), errors);

        Assert.Equal(DeployerCommandLine.UsageError, code);
        Assert.Contains("--candidate", errors.ToString(), StringComparison.Ordinal);
        Assert.Contains("--max-rmse", errors.ToString(), StringComparison.Ordinal);
    }

    private async Task<(string Name, Uri Address)> RunAsync(string image)
    {
        var name = "sp-e2e-gate-" + LocalRegistry.RandomSuffix();
        var port = LocalRegistry.FreePort();
        _containers.Add(name);
        await Cli.RunAsync(["run", "-d", "--name", name, "-p", $"127.0.0.1:{port}:8000", image]);
        var address = new Uri($"http://127.0.0.1:{port}");
        await Probes.WaitUntilAsync(() => Probes.IsServingAsync(address), Long, $"{image} to serve");
        return (name, address);
    }

    private void WriteGateLog(DeployerInstance deployer)
    {
        foreach (var line in deployer.Logs.Text.Split('\n').Where(l => l.Contains("quality gate", StringComparison.OrdinalIgnoreCase)))
        {
            output.WriteLine(line);
        }
    }

    private async Task WaitForVersionAsync(DeployerInstance deployer, string modelVersion) =>
        await Probes.WaitUntilAsync(async () => await _rig.ModelVersionAsync() == modelVersion, Long, $"model version {modelVersion}", () => deployer.Logs.Text);

    private static Task WaitForRolloutAsync(DeployerInstance deployer, string digest, string outcome) => deployer.WaitForRolloutAsync(digest, outcome, Long);
}
