using System.Runtime.CompilerServices;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.Routing;
using RpcShield.Telemetry;

namespace RpcShield.JsonRpc;

/// <summary>
/// Routes one JSON-RPC item: gates first, then the first handler claiming the method, else the
/// read forwarder; result filters then see the answer. Shared by HTTP and WebSocket. Records the
/// per-request metric.
/// </summary>
internal sealed class RpcDispatcher
{
    private readonly IRpcGate[] _gates;
    private readonly IRpcHandler[] _handlers;
    private readonly IRpcResultFilter[] _filters;
    private readonly ReadForwarder _reads;
    private readonly RpcShieldMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly RpcTracing? _tracing;
    private readonly IChainModeSource? _modes;
    private readonly Features.Caching.ResponseCache? _cache;

    // One handler table per chain runtime (a runtime lives for one snapshot); replaced whole when the
    // config changes, after the registries that handlers read have applied it (they subscribed first).
    private volatile ConditionalWeakTable<ChainRuntime, HandlerTable> _tables = new();

    public RpcDispatcher(IEnumerable<IRpcGate> gates, IEnumerable<IRpcHandler> handlers, IEnumerable<IRpcResultFilter> filters, ReadForwarder reads, RpcShieldMetrics metrics, TimeProvider time, RpcTracing? tracing = null, IChainModeSource? modes = null, Features.Caching.ResponseCache? cache = null, ConfigStore? config = null)
    {
        if (config is not null)
        {
            config.Changed += (_, _) => _tables = new();
        }

        _tracing = tracing;
        _modes = modes;
        _cache = cache;
        _gates = gates.ToArray();
        _handlers = RpcHandlerPrecedence.Sort(handlers);
        _filters = filters.ToArray();
        _reads = reads;
        _metrics = metrics;
        _time = time;
    }

    public async ValueTask<ForwardResult> DispatchAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        var routed = Begin(call, item, cancellationToken, out var dispatch);
        // Awaited on its own line: what an expression reads before an await is copied into the state machine.
        var answer = await routed.ConfigureAwait(false);
        return End(ref dispatch, call, answer);
    }

    /// <summary>
    /// <see cref="DispatchAsync"/> for a caller that awaits in its own state machine (the HTTP
    /// endpoint): await the returned answer (it never throws for a client that left), then pass it
    /// to <see cref="End"/> with <paramref name="dispatch"/> (by ref: a second End is a no-op). Saves a state machine per request.
    /// </summary>
    public ValueTask<ForwardResult> Begin(RpcCall call, in RpcRequestItem item, CancellationToken cancellationToken, out RpcDispatch dispatch)
    {
        var started = _time.GetTimestamp();
        // The call's span (tracing on only) stays current in this flow until End stops it.
        _tracing?.StartCall(call, item.Method);
        var routed = false;
        ValueTask<ForwardResult> answer;
        try
        {
            var admitted = AdmitAsync(call, item, cancellationToken);
            if (!admitted.IsCompletedSuccessfully)
            {
                answer = RouteAfterGatesAsync(admitted, call, item, cancellationToken);
            }
            else if (admitted.Result is { } answered)
            {
                // A gate's own answer (shed, rejected, injected fault) is final; only routed answers are filtered.
                answer = ValueTask.FromResult(answered);
            }
            else
            {
                answer = Route(call, item, cancellationToken);
                routed = true;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            answer = ValueTask.FromResult(Cancelled());
        }

        dispatch = new RpcDispatch(started, item.Method, item.Id, routed);
        return answer;
    }

    /// <summary>Finishes a dispatch from <see cref="Begin"/>: result filters, the serving-upstream header, the per-request metric. Once: ending it again returns <paramref name="result"/> untouched.</summary>
    public ForwardResult End(ref RpcDispatch dispatch, RpcCall call, ForwardResult result)
    {
        if (!dispatch.TryEnd())
        {
            return result;
        }

        if (dispatch.Routed)
        {
            result = Filter(call, dispatch.Method, dispatch.Id, result);
        }

        if (result.ServedBy is { } upstream)
        {
            call.Annotate("X-RpcShield-Upstream", upstream.Name);
        }

        _metrics.RecordRequest(call.Chain.Name, dispatch.Method, result.Outcome, _time.GetElapsedTime(dispatch.Started).TotalSeconds);
        if (_tracing is { Enabled: true } tracing)
        {
            tracing.EndCall(call, result.Outcome, result.ServedBy?.Name, _modes?.ModeOf(call.Chain.Name) ?? "full");
        }

        return result;
    }

    private static ForwardResult Cancelled() => ForwardResult.Error(RpcErrorCodes.NoUpstream, "Request cancelled by the client");

    /// <summary>A coalescer for a batch's reads (see <see cref="ReadForwarder.CoalesceBatch"/>).</summary>
    public BatchCoalescer? CoalesceReads(CancellationToken cancellationToken) => _reads.CoalesceBatch(cancellationToken);

    /// <summary>
    /// The first gate answer, or null to route the item. Not an async method: gates normally
    /// answer synchronously, so the common path adds no state machine.
    /// </summary>
    private ValueTask<ForwardResult?> AdmitAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _gates.Length; i++)
        {
            var admitted = _gates[i].AdmitAsync(call, item, cancellationToken);
            if (!admitted.IsCompletedSuccessfully)
            {
                return AwaitGatesAsync(admitted, i, call, item, cancellationToken);
            }

            if (admitted.Result is not null)
            {
                return admitted;
            }
        }

        return ValueTask.FromResult<ForwardResult?>(null);
    }

    private async ValueTask<ForwardResult?> AwaitGatesAsync(ValueTask<ForwardResult?> pending, int gate, RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        if (await pending.ConfigureAwait(false) is { } answered)
        {
            return answered;
        }

        for (var i = gate + 1; i < _gates.Length; i++)
        {
            if (await _gates[i].AdmitAsync(call, item, cancellationToken).ConfigureAwait(false) is { } later)
            {
                return later;
            }
        }

        return null;
    }

    /// <summary>A gate answered asynchronously: the rest of the dispatch (routing, filters) runs here.</summary>
    private async ValueTask<ForwardResult> RouteAfterGatesAsync(ValueTask<ForwardResult?> admitted, RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        try
        {
            if (await admitted.ConfigureAwait(false) is { } answered)
            {
                return answered;
            }

            var routed = await Route(call, item, cancellationToken).ConfigureAwait(false);
            return Filter(call, item.Method, item.Id, routed);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Cancelled();
        }
    }

    private ForwardResult Filter(RpcCall call, string method, ReadOnlyMemory<byte> id, ForwardResult result)
    {
        foreach (var filter in _filters)
        {
            if (filter.Applies(method))
            {
                result = filter.Apply(call, id, result);
            }
        }

        return result;
    }

    private ValueTask<ForwardResult> Route(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        if (Table(call.Chain).For(item.Method) is { } handler)
        {
            var handled = handler.HandleAsync(call, item, cancellationToken);
            return handled.IsCompletedSuccessfully ? handled : AnswerCancelledAsync(handled, cancellationToken);
        }

        // The forwarder never throws for a client that left (cancelled attempts are outcomes).
        // Reads no handler claimed go through the response cache when there is one (docs/caching.md).
        return _cache is null ? _reads.ForwardAsync(call.Chain, item, cancellationToken, call) : _cache.ServeAsync(call, item, _reads, cancellationToken);
    }

    /// <summary>The compiled handler table of <paramref name="chain"/>'s snapshot (built on its first request).</summary>
    internal HandlerTable Table(ChainRuntime chain)
    {
        var tables = _tables;
        return tables.TryGetValue(chain, out var table) ? table : tables.GetValue(chain, c => new HandlerTable(c, _handlers));
    }

    /// <summary>A handler's answer, or the cancelled answer when the client left while it worked.</summary>
    private static async ValueTask<ForwardResult> AnswerCancelledAsync(ValueTask<ForwardResult> handled, CancellationToken cancellationToken)
    {
        try
        {
            return await handled.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Cancelled();
        }
    }
}
