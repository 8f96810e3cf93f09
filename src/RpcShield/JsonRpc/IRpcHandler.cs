using RpcShield.Chains;
using RpcShield.Routing;

namespace RpcShield.JsonRpc;

/// <summary>
/// Serves a class of methods instead of the default read forwarder (broadcast, builder fan-out,
/// RpcShield's own `rpcshield_*` methods). The first handler that claims a method wins.
/// </summary>
internal interface IRpcHandler
{
    bool Handles(ChainRuntime chain, string method);

    ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken);
}
