using RpcShield.JsonRpc;
using RpcShield.Routing;

namespace RpcShield.Routing.Degradation;

/// <summary>
/// Answers before routing according to the chain's mode: in degraded and minimal mode methods
/// matching `degradation.shed_in_degraded` get -32092; in minimal mode, when
/// `reject_sends_in_minimal`, broadcast and fan-out methods get -32091.
/// </summary>
internal sealed class ModeGate : IRpcGate
{
    private readonly DegradationController _controller;

    public ModeGate(DegradationController controller) => _controller = controller;

    public ValueTask<ForwardResult?> AdmitAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        var chain = call.Chain;
        var mode = _controller.Current(chain.Name);
        if (mode == ChainMode.Full)
        {
            return ValueTask.FromResult<ForwardResult?>(null);
        }

        var traits = chain.Methods[item.Method];
        if (mode == ChainMode.Minimal && chain.Options.Degradation.RejectSendsInMinimal && traits.Send)
        {
            return ValueTask.FromResult<ForwardResult?>(ForwardResult.Error(
                RpcErrorCodes.MinimalMode, $"Rejected: chain {chain.Name} is in minimal mode; {item.Method} is disabled until it recovers"));
        }

        if (traits.ShedInDegraded)
        {
            return ValueTask.FromResult<ForwardResult?>(ForwardResult.Error(
                RpcErrorCodes.Shed, $"Shed: chain {chain.Name} is in {mode.Name()} mode and {item.Method} is low priority"));
        }

        return ValueTask.FromResult<ForwardResult?>(null);
    }
}
