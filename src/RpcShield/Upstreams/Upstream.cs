using RpcShield.Configuration;
using RpcShield.Upstreams.Health;
using RpcShield.Telemetry;
using RpcShield.Upstreams.Transport;

namespace RpcShield.Upstreams;

/// <summary>
/// One upstream node: its client, its health and its learned statistics. An instance survives
/// config reloads while its chain, name and URL stay the same, so learned state is kept.
/// </summary>
internal sealed class Upstream : IDisposable
{
    private int _inFlight;
    private volatile Breakers.BreakerState _circuitState;
    private long _takesBatchesAgainAt;
    private volatile bool _throttled;
    private long _divergedUntil;
    private readonly TimeProvider _time;

    public Upstream(string chain, UpstreamOptions options, RoutingOptions routing, IUpstreamTransport transport, TimeProvider time, RpcShieldMetrics metrics)
    {
        _time = time;
        Chain = chain;
        Name = options.Name;
        Url = new Uri(options.Url);
        SafeUrl = UrlRedaction.Redact(options.Url);
        Options = options;
        Transport = transport;
        Health = new UpstreamHealth(routing.Health, time);
        Latency = new LatencyTracker(time);
        Errors = new ErrorWindow(time, routing.CircuitBreaker.Window);
        Metrics = new UpstreamMetrics(metrics, chain, options.Name);
    }

    public string Chain { get; }

    public string Name { get; }

    public Uri Url { get; }

    /// <summary>scheme://host:port only: safe for logs, /status and errors.</summary>
    public string SafeUrl { get; }

    /// <summary>Current options (replaced on reload when tier, methods or budgets change); <see cref="Tier"/> is parsed from them here.</summary>
    public UpstreamOptions Options
    {
        get;
        set
        {
            field = value;
            Tier = value.Tier == "fallback" ? UpstreamTier.Fallback : UpstreamTier.Primary;
        }
    }

    public UpstreamTier Tier { get; private set; }

    public IUpstreamTransport Transport { get; }

    public UpstreamHealth Health { get; }

    public LatencyTracker Latency { get; }

    public ErrorWindow Errors { get; }

    public UpstreamMetrics Metrics { get; }

    public bool IsPrimary => Tier == UpstreamTier.Primary;

    public int InFlight => Volatile.Read(ref _inFlight);

    public void Enter() => Interlocked.Increment(ref _inFlight);

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Per-upstream attempt pipeline (built lazily by <see cref="UpstreamSender"/>).</summary>
    internal Polly.ResiliencePipeline<AttemptOutcome>? AttemptPipeline { get; set; }

    /// <summary>Strategies of dormant-capable contributors (chaos), nested innermost only while active.</summary>
    internal Polly.ResiliencePipeline<AttemptOutcome>? OptionalAttemptPipeline { get; set; }

    /// <summary>Circuit breaker state. Not closed = ranked last (the breaker refuses it anyway).</summary>
    public Breakers.BreakerState CircuitState
    {
        get => _circuitState;
        set => _circuitState = value;
    }

    /// <summary>True while the upstream asked us to back off (429 / -32005): ranked last until it expires.</summary>
    public bool IsThrottled
    {
        get => _throttled;
        set => _throttled = value;
    }

    /// <summary>
    /// Timestamp (TimeProvider) before which client batches reach this upstream item by item: set
    /// when it refused a batch (an error or non-array answer, or HTTP 4xx). 0: takes batches.
    /// </summary>
    public long TakesBatchesAgainAt
    {
        get => Volatile.Read(ref _takesBatchesAgainAt);
        set => Volatile.Write(ref _takesBatchesAgainAt, value);
    }

    /// <summary>True while the upstream is `diverged`: outvoted by a verified read, ranked last until the cool-down ends.</summary>
    public bool IsDiverged => Volatile.Read(ref _divergedUntil) > _time.GetTimestamp();

    /// <summary>Marks the upstream `diverged` for <paramref name="cooldown"/> from now.</summary>
    public void MarkDiverged(TimeSpan cooldown) =>
        Volatile.Write(ref _divergedUntil, _time.GetTimestamp() + (long)(cooldown.TotalSeconds * _time.TimestampFrequency));

    /// <summary>Last published routing score in (0,1].</summary>
    public double Score { get; set; }

    public void Dispose() => Transport.Dispose();

    public override string ToString() => Name;
}

/// <summary>Pre-resolved metric children of one upstream (no label lookups on the hot path).</summary>
internal sealed class UpstreamMetrics
{
    public UpstreamMetrics(RpcShieldMetrics metrics, string chain, string upstream)
    {
        Ok = metrics.UpstreamRequests.WithLabels(chain, upstream, "ok");
        Error = metrics.UpstreamRequests.WithLabels(chain, upstream, "error");
        Timeout = metrics.UpstreamRequests.WithLabels(chain, upstream, "timeout");
        Throttled = metrics.UpstreamRequests.WithLabels(chain, upstream, "throttled");
        BatchRefused = metrics.UpstreamRequests.WithLabels(chain, upstream, "batch_refused");
        Duration = metrics.UpstreamDuration.WithLabels(chain, upstream);
        Up = metrics.UpstreamUp.WithLabels(chain, upstream);
        Score = metrics.UpstreamScore.WithLabels(chain, upstream);
        Head = metrics.UpstreamHead.WithLabels(chain, upstream);
        Lag = metrics.UpstreamLag.WithLabels(chain, upstream);
        Circuit = metrics.CircuitState.WithLabels(chain, upstream);
        HeadDelay = metrics.UpstreamHeadDelay.WithLabels(chain, upstream);
        Failovers = metrics.Failovers;
        ChainName = chain;
        UpstreamName = upstream;
    }

    public Prometheus.Counter.Child Ok { get; }
    public Prometheus.Counter.Child Error { get; }
    public Prometheus.Counter.Child Timeout { get; }
    public Prometheus.Counter.Child Throttled { get; }
    /// <summary>Upstream batches the node would not take (its items then went alone).</summary>
    public Prometheus.Counter.Child BatchRefused { get; }
    public Prometheus.Histogram.Child Duration { get; }
    public Prometheus.Gauge.Child Up { get; }
    public Prometheus.Gauge.Child Score { get; }
    public Prometheus.Gauge.Child Head { get; }
    public Prometheus.Gauge.Child Lag { get; }
    public Prometheus.Gauge.Child Circuit { get; }
    /// <summary>How long after the first upstream this one showed each new block (real-time head tracking).</summary>
    public Prometheus.Histogram.Child HeadDelay { get; }
    private Prometheus.Counter Failovers { get; }
    private string ChainName { get; }
    private string UpstreamName { get; }

    public void Failover(string reason) => Failovers.WithLabels(ChainName, UpstreamName, reason).Inc();
}
