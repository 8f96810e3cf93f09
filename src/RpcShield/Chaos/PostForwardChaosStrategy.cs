using Polly;

namespace RpcShield.Chaos;

/// <summary>
/// Chaos that needs the real answer first: the call is forwarded, then its outcome is replaced
/// (stale head rewrites, and failures on sends a rule explicitly allows with `allow_sends: true`:
/// "forwarded, then reported as failed"). Polly's chaos strategies replace the call instead, which
/// is what every other fault uses (pre-forward).
/// </summary>
internal sealed class PostForwardChaosStrategy<T> : ResilienceStrategy<T>
{
    private readonly Func<ResilienceContext, ChaosRule?> _match;
    private readonly Func<ResilienceContext, ChaosRule, Outcome<T>, ValueTask<Outcome<T>>> _apply;

    public PostForwardChaosStrategy(Func<ResilienceContext, ChaosRule?> match, Func<ResilienceContext, ChaosRule, Outcome<T>, ValueTask<Outcome<T>>> apply)
    {
        _match = match;
        _apply = apply;
    }

    protected override async ValueTask<Outcome<T>> ExecuteCore<TState>(Func<ResilienceContext, TState, ValueTask<Outcome<T>>> callback, ResilienceContext context, TState state)
    {
        var rule = _match(context);
        var outcome = await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
        return rule is null ? outcome : await _apply(context, rule, outcome).ConfigureAwait(context.ContinueOnCapturedContext);
    }
}

/// <summary>Options marker for <see cref="PostForwardChaosStrategy{T}"/> (nothing to configure).</summary>
internal sealed class PostForwardChaosOptions : ResilienceStrategyOptions
{
    public PostForwardChaosOptions() => Name = "chaos-post-forward";
}
