using Polly;

namespace RpcShield.Upstreams;

/// <summary>
/// Adds Polly strategies to the per-upstream attempt pipeline (circuit breaker, chaos; rate
/// budgets are synchronous <see cref="IAttemptGuard"/>s in front of it). Contributors are applied in ascending <see cref="Order"/>: the last one added is the
/// innermost, so chaos (highest order) is seen by breakers and failover as a real failure.
/// A strategy that rejects an attempt without sending should return
/// <see cref="AttemptOutcome.Refused"/> rather than throw. The context's cancellation token is set
/// only while a dormant-capable contributor is active (the attempt's own token and timeout apply
/// inside the sender): an always-on strategy must not wait on it.
/// </summary>
internal interface IUpstreamStrategyContributor
{
    int Order { get; }

    /// <summary>
    /// True while the contributed strategies cannot act (e.g. chaos not armed). Dormant-capable
    /// contributors are built into a separate innermost pipeline that runs only while one of them
    /// is active: each strategy layer costs an async frame per attempt (measured ~200 B each),
    /// which the hot path should not pay for a feature that is off. They must have the highest
    /// <see cref="Order"/> values (innermost), since they always run inside the always-on ones.
    /// </summary>
    bool IsDormant => false;

    /// <summary>True when <see cref="IsDormant"/> can ever be true.</summary>
    bool CanBeDormant => false;

    void Contribute(ResiliencePipelineBuilder<AttemptOutcome> builder, Upstream upstream);
}
