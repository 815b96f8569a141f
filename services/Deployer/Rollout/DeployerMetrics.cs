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
        QualityGateRmseDifference = factory.CreateGauge("deployer_quality_gate_rmse_difference",
            "RMSE(candidate) − RMSE(live) on the golden set at the last gate with a live model: the observed value and the bootstrap interval's bounds.",
            new GaugeConfiguration { LabelNames = ["bound"], SuppressInitialValue = true });
        ShadowGate = factory.CreateCounter("deployer_shadow_gate_total", "Shadow steps (replays of recent inputs) by result (passed, refused, skipped).", "result");
        ShadowGateFigures = factory.CreateGauge("deployer_shadow_gate_figure",
            "The last shadow step's figures: p50, p95, p99 and max of |candidate − live|, share beyond tolerance, KS statistic, rejected inputs, compared inputs.",
            new GaugeConfiguration { LabelNames = ["figure"], SuppressInitialValue = true });
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
        // Every label value exported at 0 from the start: increase() cannot see a counter's first sample as a change.
        foreach (var outcome in Enum.GetNames<RolloutOutcome>())
        {
            Rollouts.WithLabels(outcome);
        }

        foreach (var result in new[] { "ok", "no-tag", "error" })
        {
            Checks.WithLabels(result);
        }

        foreach (var result in new[] { "passed", "refused" })
        {
            QualityGate.WithLabels(result);
        }

        RegistryFailuresInARow = factory.CreateGauge("deployer_registry_check_failures_in_a_row", "Registry checks that failed since the last one that answered (0 after a success).");
        LastSuccessfulCheck = factory.CreateGauge("deployer_registry_last_success_timestamp_seconds", "Unix time of the last registry check that answered (a digest or no such tag).",
            new GaugeConfiguration { SuppressInitialValue = true });
        Quarantined = factory.CreateGauge("deployer_quarantined_digests", "Digests in quarantine now (state.json).");
        RolloutInProgress = factory.CreateGauge("deployer_rollout_in_progress", "1 while a rollout (or an operator's rollback) runs.");
    }

    /// <summary>Registry checks that failed since the last success; an alert fires after a few polls in a row.</summary>
    public Gauge RegistryFailuresInARow { get; }

    public Gauge LastSuccessfulCheck { get; }

    public Gauge Quarantined { get; }

    public Gauge RolloutInProgress { get; }

    /// <summary>Sets the gauges read from state the worker does not own at each scrape.</summary>
    public void ObserveAtScrape(Func<int> quarantined, Func<bool> rolloutInProgress)
    {
        ArgumentNullException.ThrowIfNull(quarantined);
        ArgumentNullException.ThrowIfNull(rolloutInProgress);
        Registry.AddBeforeCollectCallback(() =>
        {
            Quarantined.Set(quarantined());
            RolloutInProgress.Set(rolloutInProgress() ? 1 : 0);
        });
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

    public Gauge QualityGateRmseDifference { get; }

    public Counter ShadowGate { get; }

    public Gauge ShadowGateFigures { get; }

    public Gauge DiskFreeBytes { get; }

    public Gauge DiskLow { get; }

    public Gauge LiveHardened { get; }
}
