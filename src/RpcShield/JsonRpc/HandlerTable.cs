using System.Collections.Frozen;
using RpcShield.Chains;
using RpcShield.Routing;

namespace RpcShield.JsonRpc;

/// <summary>
/// Which handler serves each known method of one chain for one config snapshot (null: the read
/// forwarder), asked once of the handlers in <see cref="RpcHandlerPrecedence"/> order. Other names
/// ask the handlers on each request and are not remembered (a client must not grow the table).
/// </summary>
internal sealed class HandlerTable
{
    private readonly ChainRuntime _chain;
    private readonly IRpcHandler[] _handlers;
    private readonly FrozenDictionary<string, int> _known;

    public HandlerTable(ChainRuntime chain, IRpcHandler[] handlers)
    {
        _chain = chain;
        _handlers = handlers;
        _known = chain.Methods.Names.ToFrozenDictionary(name => name, Claim, StringComparer.Ordinal);
    }

    /// <summary>The handler serving <paramref name="method"/>, or null for the read forwarder.</summary>
    public IRpcHandler? For(string method)
    {
        var index = _known.TryGetValue(method, out var known) ? known : Claim(method);
        return index < 0 ? null : _handlers[index];
    }

    private int Claim(string method)
    {
        for (var i = 0; i < _handlers.Length; i++)
        {
            if (_handlers[i].Handles(_chain, method))
            {
                return i;
            }
        }

        return -1;
    }
}
