using RpcShield.Routing;
using RpcShield.Telemetry;

namespace RpcShield.JsonRpc;

/// <summary>
/// Routes one JSON-RPC item: gates first, then the first handler claiming the method, else the
/// read forwarder; result filters then see the answer. Shared by HTTP and WebSocket. Records the
/// per-request metric.
/// </summary>
public sealed class RpcDispatcher
{
    private readonly IRpcGate[] _gates;
    private readonly IRpcHandler[] _handlers;
    private readonly IRpcResultFilter[] _filters;
    private readonly ReadForwarder _reads;
    private readonly RpcShieldMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly RpcCallScope _scope;

    public RpcDispatcher(IEnumerable<IRpcGate> gates, IEnumerable<IRpcHandler> handlers, IEnumerable<IRpcResultFilter> filters, ReadForwarder reads, RpcShieldMetrics metrics, TimeProvider time, RpcCallScope scope)
    {
        _scope = scope;
        _gates = gates.ToArray();
        _handlers = handlers.ToArray();
        _filters = filters.ToArray();
        _reads = reads;
        _metrics = metrics;
        _time = time;
    }

    public async ValueTask<ForwardResult> DispatchAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        using var published = _scope.Enter(call);
        ForwardResult result;
        try
        {
            var admitted = AdmitAsync(call, item, cancellationToken);
            // A gate's own answer (shed, rejected, injected fault) is final; only routed answers are filtered.
            if ((admitted.IsCompletedSuccessfully ? admitted.Result : await admitted.ConfigureAwait(false)) is { } answered)
            {
                result = answered;
            }
            else
            {
                // Awaited on its own line: arguments evaluated before an await are copied into the state machine.
                var routed = await Route(call, item, cancellationToken).ConfigureAwait(false);
                result = Filter(call, item, routed);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            result = ForwardResult.Error(RpcErrorCodes.NoUpstream, "Request cancelled by the client");
        }

        if (result.ServedBy is { } upstream)
        {
            call.Annotate("X-RpcShield-Upstream", upstream.Name);
        }

        _metrics.RecordRequest(call.Chain.Name, item.Method, result.Outcome, _time.GetElapsedTime(start).TotalSeconds);
        return result;
    }

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

    private ForwardResult Filter(RpcCall call, RpcRequestItem item, ForwardResult result)
    {
        foreach (var filter in _filters)
        {
            if (filter.Applies(item.Method))
            {
                result = filter.Apply(call, item, result);
            }
        }

        return result;
    }

    private ValueTask<ForwardResult> Route(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        foreach (var handler in _handlers)
        {
            if (handler.Handles(call.Chain, item.Method))
            {
                return handler.HandleAsync(call, item, cancellationToken);
            }
        }

        return _reads.ForwardAsync(call.Chain, item, cancellationToken, call);
    }
}
