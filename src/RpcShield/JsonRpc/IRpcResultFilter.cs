using RpcShield.Routing;

namespace RpcShield.JsonRpc;

/// <summary>
/// Looks at every routed answer for the methods it applies to (from a handler or the read
/// forwarder; a gate's own answer is final) and may replace it, e.g. to keep eth_blockNumber
/// monotonic. Synchronous by design.
/// </summary>
internal interface IRpcResultFilter
{
    bool Applies(string method);

    /// <summary>Returns <paramref name="result"/> or a replacement answering <paramref name="id"/> (disposing the one it replaces).</summary>
    ForwardResult Apply(RpcCall call, ReadOnlyMemory<byte> id, ForwardResult result);
}
