using RpcShield.Routing;

namespace RpcShield.JsonRpc;

/// <summary>
/// Checked before any handler: may answer the item itself (shed in degraded mode, reject sends in
/// minimal mode, a client-scope chaos fault). Returns null to let the item through.
/// </summary>
internal interface IRpcGate
{
    ValueTask<ForwardResult?> AdmitAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken);
}
