using Microsoft.Extensions.Options;
using StudentPerformance.Deployer.Containers;
using StudentPerformance.Deployer.Readiness;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>
/// The model-quality gate as a rollout step: it needs only the candidate's address, and it runs before anything
/// touches the live container (before Recreate's swap, and before a blue/green switch), so every strategy can call
/// it the same way. The live container is only read: inspected for its port and asked for predictions.
/// </summary>
internal sealed class QualityGateStep(
    QualityGate gate,
    QualityGateHistory history,
    IContainerRuntime docker,
    IOptions<ContainerSpecOptions> options,
    DeployerMetrics metrics)
{
    /// <summary>
    /// Throws a <see cref="RolloutStepException"/> with the image at fault when the gate refuses the candidate.
    /// <paramref name="liveContainer"/> is the container that serves clients now (Recreate's container, or the live
    /// slot), whose model the candidate is compared with.
    /// </summary>
    public async Task RunAsync(string rolloutId, string kind, Uri candidate, string liveContainer, CancellationToken cancellationToken)
    {
        if (!gate.Enabled)
        {
            return;
        }

        var (live, note) = await LiveAddressAsync(kind, liveContainer, cancellationToken).ConfigureAwait(false);
        var report = await gate.EvaluateAsync(rolloutId, candidate, live, note, cancellationToken).ConfigureAwait(false);
        history.Record(report);
        metrics.QualityGate.WithLabels(report.Result).Inc();
        metrics.QualityGateCandidateRmse.Set(report.Candidate?.Rmse ?? double.NaN);
        if (report.Live is { } liveModel)
        {
            metrics.QualityGateLiveRmse.Set(liveModel.Rmse);
        }

        if (report.RmseDifference is { } difference)
        {
            metrics.QualityGateRmseDifference.WithLabels("observed").Set(difference.Observed);
            metrics.QualityGateRmseDifference.WithLabels("lower").Set(difference.Lower);
            metrics.QualityGateRmseDifference.WithLabels("upper").Set(difference.Upper);
        }

        if (!report.Passed)
        {
            throw new RolloutStepException($"quality gate refused the image: {string.Join("; ", report.Refusals)}", imageAtFault: true);
        }
    }

    private async Task<(Uri? Address, string? Note)> LiveAddressAsync(string kind, string name, CancellationToken cancellationToken)
    {
        if (kind == RolloutKinds.Rollback)
        {
            // The operator rejects the live model; measuring the rollback target against it would only get in the way.
            return (null, "an operator rollback is judged on absolute limits only");
        }

        var container = options.Value;
        var live = await docker.InspectAsync(name, cancellationToken).ConfigureAwait(false);
        if (live is not { State.Running: true })
        {
            return (null, $"no running '{name}' (first deployment): absolute limits only");
        }

        return live.PublishedPort(container.GrpcPort) is { } binding
            ? (RolloutSteps.Address(binding), null)
            : (null, $"'{name}' publishes no gRPC port {container.GrpcPort}: absolute limits only");
    }
}
