using System.Collections.Concurrent;
using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Telemetry;

using RpcShield.Upstreams;

namespace RpcShield.Routing.Hedging;

/// <summary>
/// Hedge delay = the configured quantile (`routing.hedge.quantile`) of recent latency of the method
/// across the chain, clamped to [`min`, `max`]; `cold_start` until <see cref="MinSamples"/> samples
/// exist. Infinite (failover only) when hedging is disabled, the method is not idempotent, or the
/// chain is not in full mode (spare the survivors).
/// </summary>
internal sealed class AdaptiveHedgeDelay : IHedgeDelayPolicy
{
    /// <summary>Samples needed before the quantile replaces the cold-start delay.</summary>
    public const int MinSamples = 20;

    private readonly MethodLatencyBook _latency;
    private readonly IChainModeSource _modes;
    private readonly RpcShieldMetrics _metrics;
    private readonly ConcurrentDictionary<(string, HedgeResult), Prometheus.Counter.Child> _children = new();

    public AdaptiveHedgeDelay(MethodLatencyBook latency, IChainModeSource modes, RpcShieldMetrics metrics)
    {
        _latency = latency;
        _modes = modes;
        _metrics = metrics;
    }

    public TimeSpan DelayFor(ChainRuntime chain, string method, bool hedgeable)
    {
        var hedge = chain.Options.Routing.Hedge;
        if (!hedge.Enabled || !hedgeable || hedge.MaxExtra <= 0 || _modes.ModeOf(chain.Name) != "full")
        {
            return Timeout.InfiniteTimeSpan;
        }

        var observed = _latency.Quantile(chain.Name, method, hedge.Quantile, MinSamples);
        var delay = observed is { } ms ? TimeSpan.FromMilliseconds(ms) : hedge.ColdStart;
        return delay < hedge.Min ? hedge.Min : delay > hedge.Max ? hedge.Max : delay;
    }

    public int MaxExtra(ChainRuntime chain)
    {
        var hedge = chain.Options.Routing.Hedge;
        return hedge.Enabled ? hedge.MaxExtra : 0;
    }

    /// <summary>
    /// Answered read attempts feed the method's latency quantile. Recorded here, on the read path,
    /// rather than as a strategy in every upstream pipeline: no extra async frame per attempt, and
    /// health probes and sends do not skew the read latencies a hedge delay is cut from.
    /// </summary>
    public void Observe(ChainRuntime chain, string method, AttemptOutcome attempt)
    {
        if (attempt.Kind == AttemptKind.Answered && !attempt.Injected)
        {
            _latency.Record(chain.Name, method, attempt.Latency);
        }
    }

    public void Report(ChainRuntime chain, string method, HedgeResult result) =>
        _children.GetOrAdd((chain.Name, result), static (key, m) => m.Hedges.WithLabels(key.Item1, Label(key.Item2)), _metrics).Inc();

    internal static string Label(HedgeResult result) => result switch
    {
        HedgeResult.Sent => "sent",
        HedgeResult.Won => "won",
        _ => "lost",
    };
}
