using Polly;

namespace RpcShield.Upstreams;

/// <summary>Properties set on the <see cref="ResilienceContext"/> of an upstream attempt, for contributors.</summary>
internal static class AttemptKeys
{
    /// <summary>The JSON-RPC body being sent (read-only; chaos matches the method from it).</summary>
    public static readonly ResiliencePropertyKey<ReadOnlyMemory<byte>> Body = new("rpcshield.body");

    /// <summary>The JSON-RPC method of the attempt, when known.</summary>
    public static readonly ResiliencePropertyKey<string> Method = new("rpcshield.method");

    /// <summary>
    /// The client call the attempt is made for (null for the proxy's own requests: probes, polls,
    /// background work), passed in by whoever starts the attempt. Chaos decides and annotates from it.
    /// </summary>
    public static readonly ResiliencePropertyKey<JsonRpc.RpcCall?> Call = new("rpcshield.call");
}
