using Polly;

namespace RpcShield.Upstreams;

/// <summary>Properties set on the <see cref="ResilienceContext"/> of an upstream attempt, for contributors.</summary>
internal static class AttemptKeys
{
    /// <summary>The JSON-RPC body being sent (read-only; chaos matches the method from it).</summary>
    public static readonly ResiliencePropertyKey<ReadOnlyMemory<byte>> Body = new("rpcshield.body");

    /// <summary>The JSON-RPC method of the attempt, when known.</summary>
    public static readonly ResiliencePropertyKey<string> Method = new("rpcshield.method");
}
