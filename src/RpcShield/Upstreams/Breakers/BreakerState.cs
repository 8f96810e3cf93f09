namespace RpcShield.Upstreams.Breakers;

/// <summary>
/// An upstream's circuit breaker as RpcShield sees it; the values are the `rpcshield_circuit_state`
/// gauge's. (Polly's own <c>CircuitState</c> numbers its members differently and has Isolated,
/// which RpcShield never uses: it is reported as <see cref="Open"/>.)
/// </summary>
internal enum BreakerState
{
    /// <summary>Attempts flow; failures are counted.</summary>
    Closed = 0,

    /// <summary>One trial attempt decides between closing and opening again.</summary>
    HalfOpen = 1,

    /// <summary>Attempts are refused until the break ends: ranked last.</summary>
    Open = 2,
}
