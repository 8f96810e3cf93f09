using RpcShield.JsonRpc;

namespace RpcShield.Chaos;

/// <summary>
/// Finds the client call an upstream attempt is made for, so upstream-scope injections can
/// annotate `X-RpcShield-Chaos` and health probes (made outside any client call) are never
/// touched by chaos. Backed by <see cref="RpcCallScope"/>, which the dispatcher fills only while
/// chaos is armed.
/// </summary>
public sealed class ChaosCallContext
{
    private readonly RpcCallScope _scope;

    public ChaosCallContext(RpcCallScope scope) => _scope = scope;

    /// <summary>The client call of the current async flow, or null (health probe, background work, chaos off).</summary>
    public RpcCall? Current => _scope.Current;

    /// <summary>Publishes calls to the flows below the dispatcher while <paramref name="armed"/> is true.</summary>
    public void PublishWhile(Func<bool> armed) => _scope.PublishWhile(armed);
}
