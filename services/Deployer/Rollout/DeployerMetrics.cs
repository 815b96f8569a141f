using Prometheus;

namespace StudentPerformance.Deployer.Rollout;

/// <summary>The deployer's Prometheus metrics, in a registry of their own (served at GET /metrics).</summary>
public sealed class DeployerMetrics
{
    public DeployerMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        Checks = factory.CreateCounter("deployer_checks_total", "Registry checks by result.", "result");
        Rollouts = factory.CreateCounter("deployer_rollouts_total", "Rollouts by outcome.", "outcome");
        RolloutDuration = factory.CreateHistogram("deployer_rollout_duration_seconds", "Duration of a rollout from disk guard to commit or rollback.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.5, 2, 10) });
        Downtime = factory.CreateHistogram("deployer_downtime_seconds", "Time from stopping the old container to the first SERVING answer of the new (or restored) one.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.05, 2, 12) });
        RegistryErrors = factory.CreateCounter("deployer_registry_errors_total", "Failed registry checks.");
        DockerErrors = factory.CreateCounter("deployer_docker_errors_total", "Ticks that failed because the Docker engine did not answer.");
        Paused = factory.CreateGauge("deployer_paused", "1 while rollouts are paused.");
        QualityGate = factory.CreateCounter("deployer_quality_gate_total", "Model-quality gates by result (passed, refused).", "result");
        QualityGateCandidateRmse = factory.CreateGauge("deployer_quality_gate_candidate_rmse", "The last gated candidate's RMSE on the golden set.");
        QualityGateLiveRmse = factory.CreateGauge("deployer_quality_gate_live_rmse", "The live model's RMSE on the golden set at the last gate that measured it.");
    }

    public CollectorRegistry Registry { get; }

    public Counter Checks { get; }

    public Counter Rollouts { get; }

    public Histogram RolloutDuration { get; }

    public Histogram Downtime { get; }

    public Counter RegistryErrors { get; }

    public Counter DockerErrors { get; }

    public Gauge Paused { get; }

    public Counter QualityGate { get; }

    public Gauge QualityGateCandidateRmse { get; }

    public Gauge QualityGateLiveRmse { get; }
}
