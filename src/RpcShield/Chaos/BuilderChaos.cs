using Polly;
using Polly.Simmy;
using Polly.Simmy.Latency;
using Polly.Simmy.Outcomes;
using RpcShield.Upstreams;

namespace RpcShield.Chaos;

/// <summary>
/// Builder-scope chaos for the fan-out pipeline. One-line hookup inside a per-builder Polly
/// pipeline (e.g. from an <c>IBuilderStrategyContributor</c>):
/// <code>builderChaos.Contribute(pipeline, chain, builder.Name, builder.Timeout, (rule, reason) =&gt; MyOutcome.Failed(reason));</code>
/// The attempt's <see cref="ResilienceContext"/> must carry the method as <see cref="BuilderMethodKey"/>
/// (the fan-out's `BuilderAttemptKeys.Method`) or <see cref="AttemptKeys.Method"/>, and the client call it
/// is made for as <see cref="AttemptKeys.Call"/> (annotated with an injection; none for the proxy's own submissions).
/// `latency` delays the submission; `builder_reject` answers with the factory's failure
/// (reason `chaos_builder_reject`) without submitting; `builder_timeout` hangs for the builder's
/// timeout (or until cancelled) and answers with reason `chaos_builder_timeout`. Fan-out methods
/// are sends: faults are pre-forward (the builder never saw the bundle) unless the rule says
/// `allow_sends: true`, in which case the bundle is submitted and then reported as failed.
/// </summary>
internal sealed class BuilderChaos
{
    /// <summary>The fan-out pipeline's method key (`BuilderAttemptKeys.Method`: same name, so the same key).</summary>
    public static readonly ResiliencePropertyKey<string> BuilderMethodKey = new("rpcshield.builder.method");

    private static readonly ResiliencePropertyKey<ChaosRule> RuleKey = new("rpcshield.chaos.builder");
    private static readonly ResiliencePropertyKey<TimeSpan> LatencyKey = new("rpcshield.chaos.builder.latency");

    private readonly IChaosController _chaos;
    private readonly TimeProvider _time;

    public BuilderChaos(IChaosController chaos, TimeProvider time)
    {
        _chaos = chaos;
        _time = time;
    }

    /// <summary>Decides, without Polly, which builder fault applies (null when none); records it when one does.</summary>
    public ChaosRule? Decide(string chain, string builder, string method, JsonRpc.RpcCall? call)
    {
        var rule = _chaos.Match(ChaosScope.Builder, chain, builder, method, static r => r.Fault is ChaosFault.Latency or ChaosFault.BuilderReject or ChaosFault.BuilderTimeout or ChaosFault.Http500);
        if (rule is not null)
        {
            _chaos.RecordInjection(rule, chain, method, builder, call);
        }

        return rule;
    }

    /// <summary>Adds the builder chaos strategies to a per-builder pipeline (innermost: add it last).</summary>
    public void Contribute<T>(ResiliencePipelineBuilder<T> builder, string chain, string builderName, TimeSpan builderTimeout, Func<ChaosRule, string, T> failure)
    {
        builder
            .AddChaosLatency(new ChaosLatencyStrategyOptions
            {
                Name = "chaos-builder-latency",
                InjectionRate = 1,
                EnabledGenerator = args => new(Enabled(args.Context, chain, builderName, static r => r.Fault == ChaosFault.Latency)),
                LatencyGenerator = args => new(args.Context.Properties.GetValue(LatencyKey, TimeSpan.Zero)),
            })
            .AddChaosOutcome(new ChaosOutcomeStrategyOptions<T>
            {
                Name = "chaos-builder-outcome",
                InjectionRate = 1,
                EnabledGenerator = args => new(Enabled(args.Context, chain, builderName, static r => IsFailure(r.Fault) && !r.AllowSends)),
                OutcomeGenerator = async args => await FailAsync(args.Context, builderTimeout, failure).ConfigureAwait(false) is (true, var failed)
                    ? Outcome.FromResult(failed)
                    : null,
            })
            .AddStrategy(
                _ => new PostForwardChaosStrategy<T>(
                    ctx => Match(ctx, chain, builderName, static r => IsFailure(r.Fault) && r.AllowSends),
                    async (ctx, rule, outcome) =>
                    {
                        _chaos.RecordInjection(rule, chain, MethodOf(ctx), builderName, CallOf(ctx));
                        ctx.Properties.Set(RuleKey, rule);
                        return await FailAsync(ctx, builderTimeout, failure).ConfigureAwait(false) is (true, var failed) ? Outcome.FromResult(failed) : outcome;
                    }),
                new PostForwardChaosOptions());
    }

    private static string MethodOf(ResilienceContext context) =>
        context.Properties.TryGetValue(BuilderMethodKey, out var method) ? method : context.Properties.GetValue(AttemptKeys.Method, "");

    /// <summary>The client call the submission is for (<see cref="AttemptKeys.Call"/>), annotated with the injection.</summary>
    private static JsonRpc.RpcCall? CallOf(ResilienceContext context) => context.Properties.GetValue(AttemptKeys.Call, null);

    private static bool IsFailure(ChaosFault fault) => fault is ChaosFault.BuilderReject or ChaosFault.BuilderTimeout or ChaosFault.Http500;

    private ChaosRule? Match(ResilienceContext context, string chain, string builder, Func<ChaosRule, bool> filter) =>
        _chaos.Match(ChaosScope.Builder, chain, builder, MethodOf(context), filter);

    private bool Enabled(ResilienceContext context, string chain, string builder, Func<ChaosRule, bool> filter)
    {
        var rule = Match(context, chain, builder, filter);
        if (rule is null)
        {
            return false;
        }

        context.Properties.Set(RuleKey, rule);
        if (rule.Fault == ChaosFault.Latency)
        {
            context.Properties.Set(LatencyKey, rule.PickLatency(_chaos.NextDouble()));
        }

        _chaos.RecordInjection(rule, chain, MethodOf(context), builder, CallOf(context));
        return true;
    }

    /// <summary>The injected failure; (false, default) when a halt cut a timeout hang short (the submission proceeds untouched).</summary>
    private async ValueTask<(bool Injected, T Outcome)> FailAsync<T>(ResilienceContext context, TimeSpan builderTimeout, Func<ChaosRule, string, T> failure)
    {
        var rule = context.Properties.GetValue(RuleKey, null!);
        if (rule.Fault == ChaosFault.BuilderTimeout)
        {
            return await ChaosDelay.HangAsync(builderTimeout, _time, _chaos.HaltToken, context.CancellationToken).ConfigureAwait(false)
                ? (true, failure(rule, "chaos_builder_timeout"))
                : (false, default!);
        }

        return (true, failure(rule, "chaos_builder_reject"));
    }
}
