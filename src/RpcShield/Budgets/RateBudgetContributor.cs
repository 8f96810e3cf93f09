using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Polly;
using RpcShield.Chains;
using RpcShield.Upstreams;

namespace RpcShield.Budgets;

/// <summary>
/// Per-upstream rate budget (`max_rps`, `max_concurrency`) and throttle backoff as the outermost
/// refusing strategy of the attempt pipeline: an attempt over budget, or while the upstream's
/// backoff runs, is refused locally at once (<see cref="AttemptKind.Rejected"/>, reason
/// `budget_exhausted` / `throttled`) so failover moves to the next upstream instead of queueing.
/// A throttled answer (HTTP 429 / -32005) starts the backoff and ranks the upstream last until it ends.
/// </summary>
public sealed partial class RateBudgetContributor : IUpstreamStrategyContributor
{
    private readonly ChainRegistry _chains;
    private readonly TimeProvider _time;
    private readonly ILogger<RateBudgetContributor> _logger;
    private readonly ConditionalWeakTable<Upstream, UpstreamBudget> _budgets = new();

    public RateBudgetContributor(ChainRegistry chains, TimeProvider time, ILogger<RateBudgetContributor> logger)
    {
        _chains = chains;
        _time = time;
        _logger = logger;
    }

    /// <summary>Outside the breaker: a refused attempt is never a breaker sample.</summary>
    public int Order => 50;

    public UpstreamBudget? BudgetOf(Upstream upstream) => _budgets.TryGetValue(upstream, out var budget) ? budget : null;

    public void Contribute(ResiliencePipelineBuilder<AttemptOutcome> builder, Upstream upstream)
    {
        var budget = _budgets.GetValue(upstream, _ => new UpstreamBudget(_time));
        builder.AddStrategy(_ => new BudgetStrategy(this, upstream, budget), new Resilience.NamedStrategyOptions("rate-budget"));
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
            Rerank(upstream);
        }
    }

    private void Expire(Upstream upstream, UpstreamBudget budget)
    {
        if (!budget.IsThrottled && upstream.IsThrottled)
        {
            upstream.IsThrottled = false;
            LogThrottleEnded(upstream.Chain, upstream.Name);
            Rerank(upstream);
        }
    }

    private void Rerank(Upstream upstream)
    {
        if (_chains.TryGet(upstream.Chain, out var chain))
        {
            chain.Rerank();
        }
    }

    private sealed class BudgetStrategy(RateBudgetContributor owner, Upstream upstream, UpstreamBudget budget) : ResilienceStrategy<AttemptOutcome>
    {
        protected override async ValueTask<Outcome<AttemptOutcome>> ExecuteCore<TState>(Func<ResilienceContext, TState, ValueTask<Outcome<AttemptOutcome>>> callback, ResilienceContext context, TState state)
        {
            if (budget.IsThrottled)
            {
                return Refused("throttled");
            }

            var options = upstream.Options;
            if (!budget.TryAcquire(options.MaxRps, options.MaxConcurrency))
            {
                return Refused("budget_exhausted");
            }

            try
            {
                var outcome = await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
                switch (outcome.Result?.Kind)
                {
                    case AttemptKind.Throttled:
                        owner.OnThrottled(upstream, budget, outcome.Result.RetryAfter);
                        break;
                    case AttemptKind.Answered or AttemptKind.NodeError or AttemptKind.Unsupported:
                        budget.Answered();
                        break;
                }

                return outcome;
            }
            finally
            {
                budget.Release();
            }
        }

        private Outcome<AttemptOutcome> Refused(string reason) => Outcome.FromResult(AttemptOutcome.Refused(upstream, reason));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: upstream {Upstream} throttled us; backing off {BackoffMs} ms (retry-after given: {Hinted})")]
    private partial void LogThrottled(string chain, string upstream, double backoffMs, bool hinted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: throttle backoff of {Upstream} ended")]
    private partial void LogThrottleEnded(string chain, string upstream);
}
