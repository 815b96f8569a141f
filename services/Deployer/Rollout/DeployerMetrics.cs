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
        // Not exported before the first measurement: 0 free bytes would read as a full disk.
        DiskFreeBytes = factory.CreateGauge("deployer_disk_free_bytes", "Free bytes on Docker's data root (images and container logs), measured every tick.",
            new GaugeConfiguration { SuppressInitialValue = true });
        DiskLow = factory.CreateGauge("deployer_disk_low", "1 while Docker's data root has less free space than Deployer:Disk:MinFreeMiB.");
        LiveHardened = factory.CreateGauge("deployer_live_container_hardened", "1 when the live container carries Deployer:Container:Hardening, 0 when not (an adopted container until the next rollout).",
            new GaugeConfiguration { SuppressInitialValue = true });
        EdgeSwitch = factory.CreateHistogram("deployer_edge_switch_seconds", "Time the edge took to send new calls to another slot, by result (ok, failed).",
            new HistogramConfiguration { LabelNames = ["result"], Buckets = Histogram.ExponentialBuckets(0.01, 2, 12) });
        EdgeDrain = factory.CreateHistogram("deployer_edge_drain_seconds", "Time from draining a slot to its last call in flight finishing (or the drain timeout).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.01, 2, 14) });
        EdgeDrainCutCalls = factory.CreateCounter("deployer_edge_drain_cut_calls_total", "Calls still in flight on a drained slot when Deployer:Edge:DrainTimeout ended them.");
        EdgeReachable = factory.CreateGauge("deployer_edge_reachable", "1 when the edge's runtime API answered at the last tick (BlueGreen).",
            new GaugeConfiguration { SuppressInitialValue = true });
        Bakes = factory.CreateCounter("deployer_bake_total", "Bakes after the health gate by result (passed, failed).", "result");
        FleetEvents = factory.CreateCounter("deployer_fleet_events_total", "Fleet events on this host: claimed, baked, refused, lost, rolled-back, unavailable (docs/fleet.md).", "event");
        LiveCrashLoop = factory.CreateGauge("deployer_live_crash_loop", "1 while the live container restarted Deployer:CrashLoop:MaxRestarts times within Deployer:CrashLoop:Window.");
    }

    public Histogram EdgeSwitch { get; }

    public Histogram EdgeDrain { get; }

    public Counter EdgeDrainCutCalls { get; }

    public Gauge EdgeReachable { get; }

    public Counter Bakes { get; }

    public Gauge LiveCrashLoop { get; }

    public Counter FleetEvents { get; }

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

    public Gauge DiskFreeBytes { get; }

    public Gauge DiskLow { get; }

    public Gauge LiveHardened { get; }
}
