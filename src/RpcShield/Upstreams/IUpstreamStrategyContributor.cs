using Polly;

namespace RpcShield.Upstreams;

/// <summary>
/// Adds Polly strategies to the per-upstream attempt pipeline (circuit breaker, rate budget,
/// chaos). Contributors are applied in ascending <see cref="Order"/>: the last one added is the
/// innermost, so chaos (highest order) is seen by breakers and failover as a real failure.
/// A strategy that rejects an attempt without sending should return an <see cref="AttemptOutcome"/>
/// (e.g. kind Throttled, reason `budget_exhausted`) rather than throw.
/// </summary>
public interface IUpstreamStrategyContributor
{
    int Order { get; }

    void Contribute(ResiliencePipelineBuilder<AttemptOutcome> builder, Upstream upstream);
}
