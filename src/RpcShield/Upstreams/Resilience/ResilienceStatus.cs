using System.Text.Json;
using RpcShield.Upstreams.Breakers;
using RpcShield.Upstreams.Budgets;
using RpcShield.Chains;
using RpcShield.Hosting.Status;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Resilience;

/// <summary>/status fields per upstream: `circuit` (closed|half_open|open, opened_at, last_fault) and `throttle` (active, remaining_ms).</summary>
internal sealed class ResilienceStatus : IStatusContributor
{
    private readonly CircuitBreakerContributor _breakers;
    private readonly RateBudgetGuard _budgets;

    public ResilienceStatus(CircuitBreakerContributor breakers, RateBudgetGuard budgets)
    {
        _breakers = breakers;
        _budgets = budgets;
    }

    public void WriteUpstream(Utf8JsonWriter writer, ChainRuntime chain, Upstream upstream)
    {
        writer.WriteStartObject("circuit");
        var breaker = _breakers.InfoOf(upstream);
        writer.WriteString("state", breaker?.StateName ?? "closed");
        if (breaker?.OpenedAt is { } openedAt)
        {
            writer.WriteString("opened_at", openedAt);
            writer.WriteString("last_fault", breaker.LastFault);
        }

        writer.WriteEndObject();
        var budget = _budgets.BudgetOf(upstream);
        writer.WriteStartObject("throttle");
        var remaining = budget?.RemainingBackoff ?? TimeSpan.Zero;
        writer.WriteBoolean("active", remaining > TimeSpan.Zero);
        writer.WriteNumber("remaining_ms", Math.Round(remaining.TotalMilliseconds));
        writer.WriteNumber("max_rps", upstream.Options.MaxRps);
        writer.WriteNumber("max_concurrency", upstream.Options.MaxConcurrency);
        writer.WriteEndObject();
    }

    public void WriteChain(Utf8JsonWriter writer, ChainRuntime chain)
    {
    }
}
