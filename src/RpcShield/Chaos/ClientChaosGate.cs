using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http;
using Polly;
using Polly.Simmy;
using Polly.Simmy.Behavior;
using Polly.Simmy.Fault;
using Polly.Simmy.Latency;
using Polly.Simmy.Outcomes;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.JsonRpc;
using RpcShield.Routing;

namespace RpcShield.Chaos;

/// <summary>
/// Client-scope chaos: an <see cref="IRpcGate"/> that answers before routing, so the bot sees the
/// fault directly. A Polly pipeline of chaos strategies (latency ► reset fault ► timeout behaviour
/// ► outcome), each enabled only when chaos is armed and a rule (or the request's header) matches.
/// Every client-scope fault is pre-forward: a send it touches was never forwarded.
/// </summary>
internal sealed class ClientChaosGate : IRpcGate
{
    private static readonly ResiliencePropertyKey<GateState> StateKey = new("rpcshield.chaos.gate");

    private readonly IChaosController _chaos;
    private readonly ConfigStore _config;
    private readonly ReadForwarder _reads;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline<ForwardResult?> _pipeline;

    public ClientChaosGate(IChaosController chaos, ConfigStore config, ReadForwarder reads, TimeProvider time)
    {
        _chaos = chaos;
        _config = config;
        _reads = reads;
        _time = time;
        _pipeline = new ResiliencePipelineBuilder<ForwardResult?> { TimeProvider = time }
            .AddChaosLatency(new ChaosLatencyStrategyOptions
            {
                InjectionRate = 1,
                EnabledGenerator = args => new(Enabled(args.Context, static (_, r) => r.Fault == ChaosFault.Latency, out _)),
                LatencyGenerator = args => new(State(args.Context).Latency),
            })
            .AddChaosFault(new ChaosFaultStrategyOptions
            {
                InjectionRate = 1,
                EnabledGenerator = args => new(Enabled(args.Context, static (_, r) => r.Fault == ChaosFault.Reset, out _)),
                FaultGenerator = args => new(Reset(args.Context)),
            })
            .AddChaosBehavior(new ChaosBehaviorStrategyOptions
            {
                InjectionRate = 1,
                EnabledGenerator = args => new(Enabled(args.Context, static (_, r) => r.Fault == ChaosFault.Timeout, out _)),
                BehaviorGenerator = args => HangAsync(args.Context),
            })
            .AddChaosOutcome(new ChaosOutcomeStrategyOptions<ForwardResult?>
            {
                InjectionRate = 1,
                EnabledGenerator = args => new(Enabled(args.Context, static (s, r) => IsOutcomeFault(s, r), out _)),
                OutcomeGenerator = args => OutcomeAsync(args.Context),
            })
            .Build();
    }

    public async ValueTask<ForwardResult?> AdmitAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        if (!_chaos.IsArmed)
        {
            return null;
        }

        var options = _config.Current.Chaos;
        var header = options.AllowHeader && call.RequestHeaders.TryGetValue(ChaosHeader.Name, out var value)
            && _chaos.Rules.Count < options.MaxActiveRules
            ? ChaosHeader.Parse(value.ToString(), options)
            : null;
        var state = new GateState(call, item, header, call.Chain.Methods[item.Method].Send);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(StateKey, state);
        try
        {
            var outcome = await _pipeline.ExecuteOutcomeAsync(
                static (_, _) => new ValueTask<Outcome<ForwardResult?>>(Outcome.FromResult<ForwardResult?>(null)), context, 0).ConfigureAwait(false);
            if (outcome.Exception is ChaosResetException)
            {
                return ForwardResult.Error(RpcErrorCodes.Chaos, "chaos: connection reset");
            }

            if (outcome.Exception is { } exception)
            {
                ExceptionDispatchInfo.Throw(exception);
            }

            if (outcome.Result is not null)
            {
                return outcome.Result;
            }

            return state.TimedOut is { } rule
                ? ForwardResult.Error(RpcErrorCodes.Chaos, "chaos: timeout (request hung until its deadline)")
                : null;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static GateState State(ResilienceContext context) => context.Properties.GetValue(StateKey, null!);

    private bool Enabled(ResilienceContext context, Func<GateState, ChaosRule, bool> filter, out ChaosRule? rule)
    {
        var state = State(context);
        var chain = state.Call.Chain.Name;
        rule = _chaos.Match(ChaosScope.Client, chain, null, state.Item.Method, r => filter(state, r), state.Header);
        if (rule is null)
        {
            return false;
        }

        state.Rule = rule;
        if (rule.Fault == ChaosFault.Latency)
        {
            state.Latency = rule.PickLatency(_chaos.NextDouble());
        }

        _chaos.RecordInjection(rule, chain, state.Item.Method, null, state.Call);
        return true;
    }

    private static bool IsOutcomeFault(GateState state, ChaosRule rule) => rule.Fault switch
    {
        ChaosFault.Http500 or ChaosFault.Http429 or ChaosFault.JsonRpcError => true,
        // Stale head rewrites an answer: reads only, and only eth_blockNumber or reads pinned to `latest`.
        ChaosFault.StaleHead => !state.IsSend && (state.Item.Method == "eth_blockNumber" || (ChaosBodies.HasLatestTag(state.Item.Raw.Span) && state.Call.Chain.BestHead > 0)),
        _ => false,
    };

    private static ChaosResetException Reset(ResilienceContext context)
    {
        // Abort the client connection (HTTP: TCP reset; WebSocket: the socket drops).
        State(context).Call.HttpContext?.Abort();
        return new ChaosResetException();
    }

    private async ValueTask HangAsync(ResilienceContext context)
    {
        var state = State(context);
        var hang = state.Call.Chain.Methods[state.Item.Method].Deadline;
        if (state.Rule!.Source == "header")
        {
            hang = TimeSpan.FromTicks(Math.Min(hang.Ticks, _config.Current.Chaos.MaxLatency.Ticks));
        }

        if (await ChaosDelay.HangAsync(hang, _time, _chaos.HaltToken, context.CancellationToken).ConfigureAwait(false))
        {
            state.TimedOut = state.Rule;
        }
    }

    private async ValueTask<Outcome<ForwardResult?>?> OutcomeAsync(ResilienceContext context)
    {
        var state = State(context);
        var rule = state.Rule!;
        switch (rule.Fault)
        {
            case ChaosFault.Http500:
                SetStatus(state.Call, StatusCodes.Status500InternalServerError, null);
                return Outcome.FromResult<ForwardResult?>(ForwardResult.Error(RpcErrorCodes.Chaos, "chaos: http_500 internal server error"));
            case ChaosFault.Http429:
                SetStatus(state.Call, StatusCodes.Status429TooManyRequests, rule.RetryAfter);
                return Outcome.FromResult<ForwardResult?>(ForwardResult.Error(RpcErrorCodes.Chaos, "chaos: http_429 too many requests"));
            case ChaosFault.StaleHead:
                return Outcome.FromResult<ForwardResult?>(await StaleAsync(state, rule, context.CancellationToken).ConfigureAwait(false));
            default:
                return Outcome.FromResult<ForwardResult?>(ForwardResult.Error(rule.ErrorCode, rule.ErrorMessage));
        }
    }

    private async ValueTask<ForwardResult> StaleAsync(GateState state, ChaosRule rule, CancellationToken cancellationToken)
    {
        var chain = state.Call.Chain;
        var item = state.Item;
        if (item.Method == "eth_blockNumber")
        {
            var answer = await _reads.ForwardAsync(chain, item, cancellationToken, state.Call).ConfigureAwait(false);
            if (answer.Body is { } body && answer.ServedBy is { } upstream && ChaosBodies.StaleNumber(body.Span, item.Id.Span, rule.StaleBlocks) is { } stale)
            {
                answer.Dispose();
                return ForwardResult.Served(stale, upstream, nodeError: false, answer.Attempts);
            }

            return answer;
        }

        // A read pinned to `latest`: pin it to head - N instead.
        var pinned = ChaosBodies.PinLatest(item.Raw.Span, Math.Max(0, chain.BestHead - rule.StaleBlocks));
        var rewritten = pinned is null ? item : new RpcRequestItem(pinned, item.Id, item.Method, default);
        return await _reads.ForwardAsync(chain, rewritten, cancellationToken, state.Call).ConfigureAwait(false);
    }

    private static void SetStatus(RpcCall call, int status, TimeSpan? retryAfter)
    {
        if (call.HttpContext is not { } http || http.WebSockets.IsWebSocketRequest)
        {
            return;
        }

        // The endpoint sets the status after processing: override it just before headers go out.
        http.Response.OnStarting(() =>
        {
            http.Response.StatusCode = status;
            if (retryAfter is { } delay)
            {
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(delay.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Task.CompletedTask;
        });
    }

    private sealed class GateState(RpcCall call, RpcRequestItem item, ChaosRule? header, bool isSend)
    {
        public RpcCall Call { get; } = call;
        public RpcRequestItem Item { get; } = item;
        public ChaosRule? Header { get; } = header;
        public bool IsSend { get; } = isSend;
        public ChaosRule? Rule { get; set; }
        public TimeSpan Latency { get; set; }
        public ChaosRule? TimedOut { get; set; }
    }
}

/// <summary>Thrown inside the client chaos pipeline after the connection was aborted.</summary>
internal sealed class ChaosResetException : Exception
{
    public ChaosResetException()
        : base("chaos: connection reset")
    {
    }

    public ChaosResetException(string message)
        : base(message)
    {
    }

    public ChaosResetException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
