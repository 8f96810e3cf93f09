using System.Collections.Concurrent;
using Prometheus;

namespace RpcShield.Telemetry;

/// <summary>
/// Every RpcShield metric (names and labels are a contract: DESIGN.md). The registry is injected
/// so tests and multiple hosts in one process never share state. Label values come from config
/// names or bounded sets; methods outside <see cref="JsonRpc.KnownMethods"/> become `other`.
/// </summary>
internal sealed class RpcShieldMetrics
{
    /// <summary>Buckets from 100 µs to 30 s.</summary>
    internal static readonly double[] LatencyBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Buckets from 0 (first to see the block) to 30 s.</summary>
    internal static readonly double[] HeadDelayBuckets = [0, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly ConcurrentDictionary<(string, string, string), Counter.Child> _requestChildren = new();
    private readonly ConcurrentDictionary<(string, string), Histogram.Child> _durationChildren = new();

    public RpcShieldMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        var f = Metrics.WithCustomRegistry(registry);
        var latency = new HistogramConfiguration { Buckets = LatencyBuckets };

        Requests = f.CreateCounter("rpcshield_requests_total", "Client JSON-RPC requests by outcome.", "chain", "method", "outcome");
        RequestDuration = f.CreateHistogram("rpcshield_request_duration_seconds", "Client request latency.", new HistogramConfiguration { Buckets = LatencyBuckets, LabelNames = ["chain", "method"] });
        UpstreamRequests = f.CreateCounter("rpcshield_upstream_requests_total", "Attempts sent to upstreams by outcome.", "chain", "upstream", "outcome");
        UpstreamDuration = f.CreateHistogram("rpcshield_upstream_request_duration_seconds", "Upstream attempt latency.", new HistogramConfiguration { Buckets = LatencyBuckets, LabelNames = ["chain", "upstream"] });
        UpstreamUp = f.CreateGauge("rpcshield_upstream_up", "1 when the upstream is healthy and routable.", "chain", "upstream");
        UpstreamScore = f.CreateGauge("rpcshield_upstream_score", "Routing score in (0,1], higher is better.", "chain", "upstream");
        UpstreamHead = f.CreateGauge("rpcshield_upstream_head_block", "Latest block reported by the upstream.", "chain", "upstream");
        UpstreamLag = f.CreateGauge("rpcshield_upstream_block_lag", "Blocks behind the best healthy head.", "chain", "upstream");
        CircuitState = f.CreateGauge("rpcshield_circuit_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.", "chain", "upstream");
        Failovers = f.CreateCounter("rpcshield_failovers_total", "Attempts that failed and moved on to another upstream.", "chain", "upstream", "reason");
        Hedges = f.CreateCounter("rpcshield_hedges_total", "Hedged requests by result.", "chain", "result");
        Broadcasts = f.CreateCounter("rpcshield_broadcasts_total", "Transaction broadcast outcomes per upstream.", "chain", "upstream", "outcome");
        BuilderSubmissions = f.CreateCounter("rpcshield_builder_submissions_total", "Builder submissions by outcome.", "chain", "builder", "method", "outcome");
        BuilderDuration = f.CreateHistogram("rpcshield_builder_duration_seconds", "Builder submission latency.", new HistogramConfiguration { Buckets = LatencyBuckets, LabelNames = ["chain", "builder"] });
        BundleOutcomes = f.CreateCounter("rpcshield_bundle_outcomes_total", "Bundle inclusion outcomes.", "chain", "builder", "outcome");
        BundleReasons = f.CreateCounter("rpcshield_bundle_reasons_total", "Why bundles were not included, by reason (builder: credited with the target block, or none).", "chain", "builder", "reason");
        Mode = f.CreateGauge("rpcshield_mode", "Chain mode: 0 full, 1 degraded, 2 minimal.", "chain");
        ModeChanges = f.CreateCounter("rpcshield_mode_changes_total", "Mode transitions.", "chain", "from", "to");
        ChaosInjections = f.CreateCounter("rpcshield_chaos_injections_total", "Faults injected by chaos rules.", "chain", "rule", "fault");
        WsSubscriptions = f.CreateGauge("rpcshield_ws_subscriptions", "Active client subscriptions.", "chain");
        WsResubscriptions = f.CreateCounter("rpcshield_ws_resubscriptions_total", "Subscriptions moved to another upstream.", "chain", "upstream");
        JournalEntries = f.CreateCounter("rpcshield_journal_entries_total", "Journal entries written.", "kind");
        JournalDropped = f.CreateCounter("rpcshield_journal_dropped_total", "Journal entries dropped because the queue was full.");
        BudgetFallbacks = f.CreateCounter("rpcshield_budget_fallbacks_total", "Times a shared max_rps budget fell back to its local share because Redis was unreachable.", "chain", "target");
        ConfigReloads = f.CreateCounter("rpcshield_config_reloads_total", "Configuration reloads by result.", "result");
        Reorgs = f.CreateCounter("rpcshield_reorgs_total", "Reorgs seen in upstream heads (head went back, hash changed at a height, parent mismatch).", "chain");
        UpstreamDisagreements = f.CreateCounter("rpcshield_upstream_disagreements_total", "Verified reads where the upstream's answer was outvoted.", "chain", "upstream", "method");
        UpstreamHeadDelay = f.CreateHistogram("rpcshield_upstream_head_delay_seconds", "How long after the first upstream each upstream showed each new block.", new HistogramConfiguration { Buckets = HeadDelayBuckets, LabelNames = ["chain", "upstream"] });
        CacheRequests = f.CreateCounter("rpcshield_cache_requests_total", "Reads the response cache saw, by result (hit, miss, coalesced, bypass).", "chain", "method", "result");
        CacheBytes = f.CreateGauge("rpcshield_cache_bytes", "Bytes the response cache holds (answers, keys and per-entry overhead).", "chain");
        CacheEvictions = f.CreateCounter("rpcshield_cache_evictions_total", "Cached answers dropped, by reason (capacity, reorg, new_head, hash_mismatch).", "chain", "reason");
        LogSuppressed = f.CreateCounter("rpcshield_log_suppressed_total", "Log lines held back by rate limiting, by category.", "category");
        foreach (var category in LogCategories.All)
        {
            LogSuppressed.WithLabels(category);
        }
    }

    public CollectorRegistry Registry { get; }
    public Counter Requests { get; }
    public Histogram RequestDuration { get; }
    public Counter UpstreamRequests { get; }
    public Histogram UpstreamDuration { get; }
    public Gauge UpstreamUp { get; }
    public Gauge UpstreamScore { get; }
    public Gauge UpstreamHead { get; }
    public Gauge UpstreamLag { get; }
    public Gauge CircuitState { get; }
    public Counter Failovers { get; }
    public Counter Hedges { get; }
    public Counter Broadcasts { get; }
    public Counter BuilderSubmissions { get; }
    public Histogram BuilderDuration { get; }
    public Counter BundleOutcomes { get; }
    public Counter BundleReasons { get; }
    public Gauge Mode { get; }
    public Counter ModeChanges { get; }
    public Counter ChaosInjections { get; }
    public Gauge WsSubscriptions { get; }
    public Counter WsResubscriptions { get; }
    public Counter JournalEntries { get; }
    public Counter JournalDropped { get; }

    public Counter BudgetFallbacks { get; }
    public Counter ConfigReloads { get; }
    public Counter Reorgs { get; }
    public Counter CacheRequests { get; }
    public Gauge CacheBytes { get; }
    public Counter CacheEvictions { get; }
    public Histogram UpstreamHeadDelay { get; }
    public Counter UpstreamDisagreements { get; }
    public Counter LogSuppressed { get; }

    /// <summary>Counts one client request; children are cached so the hot path allocates nothing.</summary>
    public void RecordRequest(string chain, string method, string outcome, double seconds)
    {
        var label = JsonRpc.KnownMethods.Label(method);
        _requestChildren.GetOrAdd((chain, label, outcome), static (k, c) => c.WithLabels(k.Item1, k.Item2, k.Item3), Requests).Inc();
        _durationChildren.GetOrAdd((chain, label), static (k, h) => h.WithLabels(k.Item1, k.Item2), RequestDuration).Observe(seconds);
    }
}
