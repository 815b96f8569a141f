using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// The shadow step (<c>Deployer:ShadowGate</c>): after the labelled gate and before any traffic moves, the live
/// container's sample of recent inputs is replayed through the candidate and the live model. The live container is
/// only read: inspected for its ports, asked for its sample and for predictions. A refusal quarantines the image like
/// the labelled gate's; a step that cannot run (no live model, no or too small a sample) is skipped with a warning
/// that /status shows.
/// </summary>
internal sealed class ShadowGateStep(
    ShadowGate gate,
    QualityGateHistory history,
    IContainerRuntime docker,
    IOptions<ContainerSpecOptions> options,
    DeployerMetrics metrics,
    TimeProvider time)
{
    /// <summary>Throws a <see cref="RolloutStepException"/> with the image at fault when the step refuses the candidate.</summary>
    public async Task RunAsync(string rolloutId, string kind, Uri candidate, string liveContainer, CancellationToken cancellationToken)
    {
        if (!gate.Enabled)
        {
            return;
        }

        var report = await EvaluateAsync(rolloutId, kind, candidate, liveContainer, cancellationToken).ConfigureAwait(false);
        history.RecordShadow(rolloutId, report, time);
        metrics.ShadowGate.WithLabels(report.Result).Inc();
        if (report.AbsoluteDelta is { } delta)
        {
            metrics.ShadowGateFigures.WithLabels("p50").Set(delta.P50);
            metrics.ShadowGateFigures.WithLabels("p95").Set(delta.P95);
            metrics.ShadowGateFigures.WithLabels("p99").Set(delta.P99);
            metrics.ShadowGateFigures.WithLabels("max").Set(delta.Max);
            metrics.ShadowGateFigures.WithLabels("share_beyond_tolerance").Set(report.ShareBeyondTolerance ?? double.NaN);
            metrics.ShadowGateFigures.WithLabels("ks").Set(report.Ks ?? double.NaN);
            metrics.ShadowGateFigures.WithLabels("compared").Set(report.Compared);
        }

        metrics.ShadowGateFigures.WithLabels("rejected").Set(report.CandidateRejected);
        if (report.Refused)
        {
            throw new RolloutStepException($"shadow step refused the image: {string.Join("; ", report.Refusals)}", imageAtFault: true);
        }
    }

    private async Task<ShadowReport> EvaluateAsync(string rolloutId, string kind, Uri candidate, string liveContainer, CancellationToken cancellationToken)
    {
        var tolerance = gate.Options.Tolerance;
        if (kind == RolloutKinds.Rollback)
        {
            // The operator rejects the live model; its answers are no standard for the rollback target.
            return ShadowReport.Skipped(0, tolerance, "shadow step skipped: an operator rollback is not compared with the model it replaces");
        }

        var container = options.Value;
        var live = await docker.InspectAsync(liveContainer, cancellationToken).ConfigureAwait(false);
        if (live is not { State.Running: true })
        {
            return ShadowReport.Skipped(0, tolerance, $"shadow step skipped: no running '{liveContainer}' to compare with (first deployment)");
        }

        if (RolloutSteps.Address(live.PublishedPort(container.GrpcPort)) is not { } liveAddress)
        {
            return ShadowReport.Skipped(0, tolerance, $"shadow step skipped: '{liveContainer}' publishes no gRPC port {container.GrpcPort}");
        }

        if (RolloutSteps.Address(live.PublishedPort(container.AdminPort)) is not { } admin)
        {
            return ShadowReport.Skipped(0, tolerance,
                $"shadow step skipped: '{liveContainer}' publishes no admin port {container.AdminPort} (Deployer:Container:AdminPort; a container created before the shadow step has none until its next rollout)");
        }

        var sample = await gate.FetchSampleAsync(admin, cancellationToken).ConfigureAwait(false);
        return await gate.EvaluateAsync(rolloutId, candidate, liveAddress, sample, cancellationToken).ConfigureAwait(false);
    }
}
