using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using RpcShield.Chains;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Budgets;

/// <summary>
/// Per-upstream rate budget (`max_rps`, `max_concurrency`) and throttle backoff, checked before the
/// attempt pipeline (<see cref="IAttemptGuard"/>): an attempt over budget, or while the upstream's
/// backoff runs, is refused locally at once (<see cref="AttemptKind.Rejected"/>, reason
/// `budget_exhausted` / `throttled`) so failover moves to the next upstream instead of queueing.
/// A throttled answer (HTTP 429 / -32005) starts the backoff and ranks the upstream last until it ends.
/// </summary>
internal sealed partial class RateBudgetGuard : IAttemptGuard
{
    private readonly ChainRegistry _chains;
    private readonly TimeProvider _time;
    private readonly ILogger<RateBudgetGuard> _logger;
    private readonly SharedBudgets? _shared;
    private readonly ConditionalWeakTable<Upstream, UpstreamBudget> _budgets = new();
    // Made once: a lambda capturing the clock at the call site would be a delegate per attempt.
    private readonly ConditionalWeakTable<Upstream, UpstreamBudget>.CreateValueCallback _newBudget;

    public RateBudgetGuard(ChainRegistry chains, TimeProvider time, ILogger<RateBudgetGuard> logger, SharedBudgets? shared = null)
    {
        _chains = chains;
        _shared = shared is { Enabled: true } ? shared : null;
        _time = time;
        _logger = logger;
        _newBudget = _ => new UpstreamBudget(time);
    }

    public UpstreamBudget? BudgetOf(Upstream upstream) => _budgets.TryGetValue(upstream, out var budget) ? budget : null;

    public AttemptOutcome? Admit(Upstream upstream)
    {
        var budget = _budgets.GetValue(upstream, _newBudget);
        if (budget.IsThrottled)
        {
            return AttemptOutcome.Refused(upstream, "throttled");
        }

        var options = upstream.Options;
        if (options.ShareBudget && options.MaxRps > 0 && _shared is not null)
        {
            // Concurrency stays local; the rate is decided by the fleet's shared budget (probes and head polls included).
            if (!budget.TryAcquire(0, options.MaxConcurrency))
            {
                return AttemptOutcome.Refused(upstream, "budget_exhausted");
            }

            if (_shared.TryTake(SharedBudgets.UpstreamKind, upstream.Chain, upstream.Name, options.MaxRps))
            {
                return null;
            }

            budget.Release();
            return AttemptOutcome.Refused(upstream, "budget_exhausted");
        }

        return budget.TryAcquire(options.MaxRps, options.MaxConcurrency) ? null : AttemptOutcome.Refused(upstream, "budget_exhausted");
    }

    public void Completed(Upstream upstream, AttemptOutcome? outcome)
    {
        if (!_budgets.TryGetValue(upstream, out var budget))
        {
            return;
        }

        try
        {
            switch (outcome?.Kind)
            {
                case AttemptKind.Throttled:
                    OnThrottled(upstream, budget, outcome.RetryAfter);
                    break;
                case AttemptKind.Answered or AttemptKind.NodeError or AttemptKind.Unsupported or AttemptKind.Unconfirmed:
                    budget.Answered();
                    break;
            }
        }
        finally
        {
            // The concurrency slot comes back whatever the bookkeeping above did.
            budget.Release();
        }
    }

    private void OnThrottled(Upstream upstream, UpstreamBudget budget, TimeSpan? retryAfter)
    {
        var backoff = budget.Throttled(retryAfter);
        var wasThrottled = upstream.IsThrottled;
        upstream.IsThrottled = true;
        LogThrottled(upstream.Chain, upstream.Name, backoff.TotalMilliseconds, retryAfter is not null);
        // Re-admit it to the ranking when the backoff ends (checked again: a later 429 may have extended it).
        var timer = _time.CreateTimer(_ => Expire(upstream, budget), null, backoff + TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
        Interlocked.Exchange(ref budget.ExpiryTimer, timer)?.Dispose();
        if (!wasThrottled)
        {
            _chains.SignalRankingOf(upstream);
        }
    }

    private void Expire(Upstream upstream, UpstreamBudget budget)
    {
        if (!budget.IsThrottled && upstream.IsThrottled)
        {
            upstream.IsThrottled = false;
            LogThrottleEnded(upstream.Chain, upstream.Name);
            _chains.SignalRankingOf(upstream);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: upstream {Upstream} throttled us; backing off {BackoffMs} ms (retry-after given: {Hinted})")]
    private partial void LogThrottled(string chain, string upstream, double backoffMs, bool hinted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: throttle backoff of {Upstream} ended")]
    private partial void LogThrottleEnded(string chain, string upstream);
}
