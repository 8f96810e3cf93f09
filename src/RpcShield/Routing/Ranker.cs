using RpcShield.Upstreams.Health;
using RpcShield.Upstreams;

namespace RpcShield.Routing;

/// <summary>
/// Orders upstreams for routing. Sort keys, in order: health class (healthy, then lagging, then
/// unhealthy as a last resort, then open-circuit, throttled or diverged; probing and wrong-chain never), tier (primary before fallback),
/// then cost (lower is better):
/// <code>
/// cost_ms = peak_ewma_latency_ms × (1 + in_flight) × (1 + 4 × error_rate) + 50 × block_lag
/// score   = 100 / (100 + cost_ms)     (exposed as rpcshield_upstream_score, in (0,1])
/// </code>
/// error_rate is the failure ratio over the breaker window, counted only from `min_requests` samples.
/// </summary>
internal static class Ranker
{
    public const double LagPenaltyMs = 50;
    public const double ErrorWeight = 4;

    public static double Cost(Upstream upstream, long bestHead, int minSamples)
    {
        var latency = Math.Max(upstream.Latency.PeakEwmaMs, 0.01);
        var load = 1 + upstream.InFlight;
        var errors = 1 + (ErrorWeight * upstream.Errors.ErrorRate(minSamples));
        var lag = Math.Max(0, bestHead - upstream.Health.Head);
        return (latency * load * errors) + (LagPenaltyMs * (bestHead > 0 && upstream.Health.Head >= 0 ? lag : 0));
    }

    public static double Score(double costMs) => 100 / (100 + costMs);

    /// <summary>Routable upstreams, best first. Scores are stored on each upstream.</summary>
    public static Upstream[] Rank(IReadOnlyList<Upstream> upstreams, long bestHead, int minSamples)
    {
        var ranked = new List<(Upstream Upstream, int Class, int Tier, double Cost)>(upstreams.Count);
        foreach (var upstream in upstreams)
        {
            var cls = upstream.Health.Status switch
            {
                HealthStatus.Healthy => 0,
                HealthStatus.Lagging => 1,
                HealthStatus.Unhealthy => 2,
                _ => -1,
            };
            if (cls >= 0 && (upstream.CircuitState != Upstreams.Breakers.BreakerState.Closed || upstream.IsThrottled || upstream.IsDiverged))
            {
                // Open breaker or throttle backoff (its attempt pipeline refuses it locally), or outvoted by a verified read: a last resort only.
                cls = 3;
            }

            var cost = Cost(upstream, bestHead, minSamples);
            upstream.Score = cls < 0 ? 0 : Score(cost);
            if (cls >= 0)
            {
                ranked.Add((upstream, cls, upstream.IsPrimary ? 0 : 1, cost));
            }
        }

        ranked.Sort(static (a, b) =>
            a.Class != b.Class ? a.Class.CompareTo(b.Class)
            : a.Tier != b.Tier ? a.Tier.CompareTo(b.Tier)
            : a.Cost.CompareTo(b.Cost));
        var result = new Upstream[ranked.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = ranked[i].Upstream;
        }

        return result;
    }
}
