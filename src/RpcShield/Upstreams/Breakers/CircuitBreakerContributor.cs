using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using RpcShield.Chains;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Breakers;

/// <summary>
/// One Polly circuit breaker per upstream (`routing.circuit_breaker`): opens when upstream faults
/// (5xx, transport, timeouts, node-side JSON-RPC errors; never answers, reverts, unsupported
/// methods or throttling) reach `failure_ratio` of at least `min_requests` attempts within
/// `window`; stays open for `break`; then one attempt (usually the next health probe) is let
/// through half-open and closes or re-opens it. While not closed the upstream ranks last and
/// every attempt on it is refused locally: <see cref="UpstreamSender"/> turns the breaker's
/// refusal into <see cref="AttemptOutcome.Refused"/> (reason `circuit_open`).
/// </summary>
internal sealed partial class CircuitBreakerContributor : IUpstreamStrategyContributor
{
    private readonly ChainRegistry _chains;
    private readonly TimeProvider _time;
    private readonly ILogger<CircuitBreakerContributor> _logger;
    // Weak keys: upstreams removed by a reload are disposed and collected with their breaker.
    private readonly ConditionalWeakTable<Upstream, BreakerInfo> _breakers = new();

    public CircuitBreakerContributor(ChainRegistry chains, TimeProvider time, ILogger<CircuitBreakerContributor> logger)
    {
        _chains = chains;
        _time = time;
        _logger = logger;
    }

    /// <summary>Inside the rate budget (a refused attempt never reaches the breaker), outside chaos.</summary>
    public int Order => 100;

    /// <summary>Breaker details of an upstream whose pipeline has been built.</summary>
    public BreakerInfo? InfoOf(Upstream upstream) => _breakers.TryGetValue(upstream, out var info) ? info : null;

    public void Contribute(ResiliencePipelineBuilder<AttemptOutcome> builder, Upstream upstream)
    {
        var options = _chains.TryGet(upstream.Chain, out var chain) ? chain.Options.Routing.CircuitBreaker : new Configuration.CircuitBreakerOptions();
        var info = new BreakerInfo(new CircuitBreakerStateProvider());
        _breakers.AddOrUpdate(upstream, info);
        upstream.CircuitState = BreakerState.Closed;
        upstream.Metrics.Circuit.Set((int)BreakerState.Closed);

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<AttemptOutcome>
        {
            Name = "circuit-breaker",
            FailureRatio = options.FailureRatio,
            MinimumThroughput = options.MinRequests,
            SamplingDuration = options.Window,
            BreakDuration = options.Break,
            StateProvider = info.StateProvider,
            ShouldHandle = static args => ValueTask.FromResult(
                args.Outcome.Result is { IsUpstreamFault: true } || args.Outcome.Exception is not null and not OperationCanceledException),
            OnOpened = args =>
            {
                info.OpenedAt = _time.GetUtcNow();
                info.LastFault = args.Outcome.Result?.Reason ?? args.Outcome.Exception?.GetType().Name;
                Transition(upstream, BreakerState.Open, args.BreakDuration);
                return default;
            },
            OnHalfOpened = _ =>
            {
                Transition(upstream, BreakerState.HalfOpen, TimeSpan.Zero);
                return default;
            },
            OnClosed = _ =>
            {
                Transition(upstream, BreakerState.Closed, TimeSpan.Zero);
                return default;
            },
        });
    }

    private void Transition(Upstream upstream, BreakerState state, TimeSpan breakDuration)
    {
        upstream.CircuitState = state;
        upstream.Metrics.Circuit.Set((int)state);
        switch (state)
        {
            case BreakerState.Open:
                LogOpened(upstream.Chain, upstream.Name, breakDuration.TotalMilliseconds, InfoOf(upstream)?.LastFault ?? "");
                break;
            case BreakerState.HalfOpen:
                LogHalfOpen(upstream.Chain, upstream.Name);
                break;
            default:
                LogClosed(upstream.Chain, upstream.Name);
                break;
        }

        _chains.SignalRankingOf(upstream);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: circuit of {Upstream} OPEN for {BreakMs} ms (last fault: {Fault})")]
    private partial void LogOpened(string chain, string upstream, double breakMs, string fault);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: circuit of {Upstream} half-open, probing")]
    private partial void LogHalfOpen(string chain, string upstream);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: circuit of {Upstream} closed")]
    private partial void LogClosed(string chain, string upstream);
}

/// <summary>What /status shows about one breaker.</summary>
internal sealed class BreakerInfo(CircuitBreakerStateProvider stateProvider)
{
    public CircuitBreakerStateProvider StateProvider { get; } = stateProvider;

    public DateTimeOffset? OpenedAt { get; set; }

    /// <summary>Reason of the attempt that opened it (secret-free).</summary>
    public string? LastFault { get; set; }

    public string StateName => StateProvider.CircuitState switch
    {
        CircuitState.Closed => "closed",
        CircuitState.HalfOpen => "half_open",
        CircuitState.Open or CircuitState.Isolated => "open",
        _ => "closed",
    };
}
