using Polly;
using Polly.Simmy;
using Polly.Simmy.Latency;
using Polly.Simmy.Outcomes;
using RpcShield.Configuration;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Chaos;

/// <summary>
/// Upstream-scope chaos, innermost in every upstream's attempt pipeline (highest order), so
/// failover and breakers react to it as to a real failure. Only attempts made for a client call
/// are touched (health probes never are): whoever starts an attempt passes the call it is made for,
/// and it reaches these strategies in the attempt's context (<see cref="AttemptKeys.Call"/>). Injected outcomes are marked
/// <see cref="AttemptOutcome.Injected"/> and never recorded into the upstream's latency, error
/// window or health: ranking only ever learns from organic traffic.
/// </summary>
internal sealed class UpstreamChaosContributor : IUpstreamStrategyContributor
{
    private static readonly ResiliencePropertyKey<ChaosRule> RuleKey = new("rpcshield.chaos.upstream");
    private static readonly ResiliencePropertyKey<TimeSpan> LatencyKey = new("rpcshield.chaos.latency");

    private readonly IChaosController _chaos;
    private readonly TimeProvider _time;

    public UpstreamChaosContributor(IChaosController chaos, TimeProvider time)
    {
        _chaos = chaos;
        _time = time;
    }

    /// <summary>Innermost.</summary>
    public int Order => int.MaxValue;

    /// <summary>Disarmed chaos stays out of the attempt pipeline entirely (no per-attempt cost).</summary>
    public bool CanBeDormant => true;

    public bool IsDormant => !_chaos.IsArmed;

    public void Contribute(ResiliencePipelineBuilder<AttemptOutcome> builder, Upstream upstream)
    {
        builder
            .AddChaosLatency(new ChaosLatencyStrategyOptions
            {
                Name = "chaos-latency",
                InjectionRate = 1,
                EnabledGenerator = args => new(Enabled(args.Context, upstream, static (_, r) => r.Fault == ChaosFault.Latency)),
                LatencyGenerator = args => new(args.Context.Properties.GetValue(LatencyKey, TimeSpan.Zero)),
            })
            .AddChaosOutcome(new ChaosOutcomeStrategyOptions<AttemptOutcome>
            {
                Name = "chaos-outcome",
                InjectionRate = 1,
                // Pre-forward: the request never leaves, so a send it touches truthfully failed.
                EnabledGenerator = args => new(Enabled(args.Context, upstream, static (send, r) => IsFailure(r.Fault) && !(send && r.AllowSends))),
                OutcomeGenerator = async args =>
                    await FailAsync(args.Context, upstream, args.Context.Properties.GetValue(RuleKey, null!)).ConfigureAwait(false) is { } failed
                        ? Outcome.FromResult(failed)
                        : null,
            })
            .AddStrategy(
                _ => new PostForwardChaosStrategy<AttemptOutcome>(ctx => MatchPostForward(ctx, upstream), (ctx, rule, outcome) => ApplyPostForwardAsync(ctx, upstream, rule, outcome)),
                new PostForwardChaosOptions());
    }

    internal static bool IsFailure(ChaosFault fault) =>
        fault is ChaosFault.Http500 or ChaosFault.Http429 or ChaosFault.JsonRpcError or ChaosFault.Reset or ChaosFault.Timeout;

    private bool Enabled(ResilienceContext context, Upstream upstream, Func<bool, ChaosRule, bool> filter)
    {
        if (!_chaos.IsArmed || CallOf(context) is not { } call)
        {
            return false;
        }

        var method = context.Properties.GetValue(AttemptKeys.Method, "");
        var send = call.Chain.Methods[method].Send;
        var rule = _chaos.Match(ChaosScope.Upstream, upstream.Chain, upstream.Name, method, r => filter(send, r));
        if (rule is null)
        {
            return false;
        }

        context.Properties.Set(RuleKey, rule);
        if (rule.Fault == ChaosFault.Latency)
        {
            context.Properties.Set(LatencyKey, rule.PickLatency(_chaos.NextDouble()));
        }

        _chaos.RecordInjection(rule, upstream.Chain, method, upstream.Name, call);
        return true;
    }

    /// <summary>The client call the attempt is for; null for the proxy's own requests.</summary>
    private static RpcCall? CallOf(ResilienceContext context) => context.Properties.GetValue(AttemptKeys.Call, null);

    private ChaosRule? MatchPostForward(ResilienceContext context, Upstream upstream)
    {
        if (!_chaos.IsArmed || CallOf(context) is not { } call)
        {
            return null;
        }

        var method = context.Properties.GetValue(AttemptKeys.Method, "");
        var send = call.Chain.Methods[method].Send;
        return _chaos.Match(
            ChaosScope.Upstream,
            upstream.Chain,
            upstream.Name,
            method,
            r => send ? r.AllowSends && IsFailure(r.Fault) : r.Fault == ChaosFault.StaleHead && method == "eth_blockNumber");
    }

    private async ValueTask<Outcome<AttemptOutcome>> ApplyPostForwardAsync(ResilienceContext context, Upstream upstream, ChaosRule rule, Outcome<AttemptOutcome> outcome)
    {
        if (outcome.Result is not { Kind: AttemptKind.Answered } answered)
        {
            return outcome;
        }

        var method = context.Properties.GetValue(AttemptKeys.Method, "");
        if (rule.Fault == ChaosFault.StaleHead)
        {
            var id = ChaosBodies.ReadId(context.Properties.GetValue(AttemptKeys.Body, default));
            if (answered.Reply.HasError || answered.Body is null || ChaosBodies.StaleNumber(answered.Body.Span, id.Span, rule.StaleBlocks) is not { } stale)
            {
                return outcome;
            }

            answered.Dispose();
            _chaos.RecordInjection(rule, upstream.Chain, method, upstream.Name, CallOf(context));
            return Outcome.FromResult(new AttemptOutcome
            {
                Upstream = upstream, Kind = AttemptKind.Answered, Reason = "ok", Body = stale, Reply = JsonRpc.UpstreamReply.Inspect(stale.Span), Latency = answered.Latency, Injected = true,
            });
        }

        // allow_sends: the send was forwarded; now report it as failed.
        answered.Dispose();
        _chaos.RecordInjection(rule, upstream.Chain, method, upstream.Name, CallOf(context));
        return Outcome.FromResult(await FailAsync(context, upstream, rule).ConfigureAwait(false)
            ?? Injected(upstream, AttemptKind.Timeout, "chaos_timeout_halted"));
    }

    /// <summary>The injected failure; null when a timeout hang was cut short by a halt (the attempt then proceeds).</summary>
    private async ValueTask<AttemptOutcome?> FailAsync(ResilienceContext context, Upstream upstream, ChaosRule rule)
    {
        switch (rule.Fault)
        {
            case ChaosFault.Http429:
                return Injected(upstream, AttemptKind.Throttled, "chaos_http_429", rule.RetryAfter);
            case ChaosFault.Reset:
                return Injected(upstream, AttemptKind.Transport, "chaos_connection_reset");
            case ChaosFault.Timeout:
                // Hang until the attempt's deadline (or until failover/the client cancels it).
                return await ChaosDelay.HangAsync(AttemptTimeout(context), _time, _chaos.HaltToken, context.CancellationToken).ConfigureAwait(false)
                    ? Injected(upstream, AttemptKind.Timeout, "chaos_timeout")
                    : null;
            case ChaosFault.JsonRpcError:
                var id = ChaosBodies.ReadId(context.Properties.GetValue(AttemptKeys.Body, default));
                var body = ChaosBodies.Error(id.Span, rule.ErrorCode, rule.ErrorMessage);
                var outcome = Injected(upstream, AttemptKind.NodeError, $"chaos_jsonrpc_error {rule.ErrorCode}", null, JsonRpc.UpstreamReply.Inspect(body.Span));
                outcome.Body = body;
                return outcome;
            default:
                return Injected(upstream, AttemptKind.HttpError, "chaos_http_500");
        }
    }

    private static AttemptOutcome Injected(Upstream upstream, AttemptKind kind, string reason, TimeSpan? retryAfter = null, JsonRpc.UpstreamReply reply = default) =>
        new() { Upstream = upstream, Kind = kind, Reason = reason, RetryAfter = retryAfter, Reply = reply, Injected = true };

    /// <summary>How long a chaos timeout hangs: the per-attempt timeout of the call's chain snapshot.</summary>
    private static TimeSpan AttemptTimeout(ResilienceContext context) =>
        CallOf(context)?.Chain.Options.Routing.Timeouts.PerAttempt ?? TimeSpan.FromSeconds(3);
}
