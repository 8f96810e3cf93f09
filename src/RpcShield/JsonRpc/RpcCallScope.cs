namespace RpcShield.JsonRpc;

/// <summary>
/// The client call an async flow works for, for code far below the dispatcher that needs it
/// (upstream-scope chaos annotates the call and never touches health probes). Set by the
/// dispatcher only while a consumer wants it: an ambient value costs an execution-context copy
/// per request (measured ~0.4 KB with IHttpContextAccessor), which the hot path should not pay
/// for a feature that is off. Cleared when the dispatch ends, so background work that outlives
/// the request (broadcast stragglers, fan-out) sees no call.
/// </summary>
internal sealed class RpcCallScope
{
    private readonly AsyncLocal<Holder?> _current = new();
    private Func<bool>? _wanted;

    public RpcCall? Current => _current.Value?.Call;

    /// <summary>Asks the dispatcher to publish the call while <paramref name="wanted"/> is true.</summary>
    public void PublishWhile(Func<bool> wanted) => _wanted = wanted;

    /// <summary>
    /// Publishes the call for the current flow if wanted; dispose the result when the dispatch ends.
    /// A caller that is not an async method of its own must also <see cref="Leave"/> before it returns.
    /// </summary>
    public Holder? Enter(RpcCall call)
    {
        if (_wanted?.Invoke() != true)
        {
            return null;
        }

        var holder = new Holder(call, _current.Value);
        _current.Value = holder;
        return holder;
    }

    /// <summary>
    /// Unpublishes <paramref name="holder"/> from the current flow (the one <see cref="Enter"/> ran
    /// in, when that is not an async method of its own); flows started since keep it until it is disposed.
    /// </summary>
    public void Leave(Holder holder) => _current.Value = holder.Previous;

    /// <summary>Shared by every flow forked from the dispatch; emptied when the dispatch ends.</summary>
    internal sealed class Holder(RpcCall call, Holder? previous) : IDisposable
    {
        public RpcCall? Call { get; private set; } = call;

        internal Holder? Previous { get; } = previous;

        public void Dispose() => Call = null;
    }
}
