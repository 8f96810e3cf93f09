namespace RpcShield.JsonRpc;

/// <summary>
/// What <see cref="RpcDispatcher.End"/> needs of a dispatch begun by <see cref="RpcDispatcher.Begin"/>:
/// kept by the caller across its await, so the dispatcher needs no state machine of its own.
/// Ended once: <see cref="RpcDispatcher.End"/> takes it by <c>ref</c> and spends its <see cref="Upstreams.Resilience.SettleOnce"/>.
/// </summary>
internal struct RpcDispatch
{
    private Upstreams.Resilience.SettleOnce _ticket;

    internal RpcDispatch(long started, string method, ReadOnlyMemory<byte> id, bool routed)
    {
        Started = started;
        Method = method;
        Id = id;
        Routed = routed;
        _ticket = Upstreams.Resilience.SettleOnce.Begun();
    }

    /// <summary>True the first time only: the dispatch is ended now.</summary>
    internal bool TryEnd() => _ticket.TryTake();

    /// <summary>TimeProvider timestamp when the dispatch began (the request metric's duration).</summary>
    internal long Started { get; }

    internal string Method { get; }

    /// <summary>The id the item went upstream with (a result filter's replacement answers it).</summary>
    internal ReadOnlyMemory<byte> Id { get; }

    /// <summary>True when the answer still has to pass the result filters (not a gate's own answer).</summary>
    internal bool Routed { get; }
}
