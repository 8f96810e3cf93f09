using RpcShield.Features.Broadcast;
using RpcShield.Features.BundleStatus;
using RpcShield.Features.Fanout;
using RpcShield.Upstreams.Heads;
using RpcShield.Features.Outcomes;
using RpcShield.Features.Subscriptions;

namespace RpcShield.JsonRpc;

/// <summary>
/// Which <see cref="IRpcHandler"/> serves a method when several claim it: the first of this table
/// that claims it wins, whatever order the features registered their handlers in. A method no
/// handler claims goes to the read forwarder (through the response cache when there is one).
/// </summary>
internal static class RpcHandlerPrecedence
{
    /// <summary>Every built-in handler, first wins. A new handler must be added here (a test checks every registered one is).</summary>
    public static readonly Type[] Order =
    [
        // WebSocket-only and RpcShield's own fixed-name methods first: nothing else should serve them.
        typeof(SubscriptionRpcHandler),
        typeof(OutcomeRpcHandler),
        // Sends to every upstream before any read rule (a verify glob such as `eth_*` must not catch them).
        typeof(BroadcastHandler),
        // Node reads with a consistency rule: nonce quorum before the broader verified reads.
        typeof(NonceQuorumHandler),
        typeof(VerifiedReadHandler),
        // Builder traffic: bundles and cancels to every builder, then the reads a builder serves.
        typeof(FanoutHandler),
        typeof(RelayReadHandler),
        // rpcshield_getBundleStatus (a fixed name no rule above claims).
        typeof(BundleStatusRpcHandler),
    ];

    /// <summary>
    /// <paramref name="handlers"/> in the table's order; handlers the table does not name (a test's or
    /// an extension's) follow, in the order given.
    /// </summary>
    public static IRpcHandler[] Sort(IEnumerable<IRpcHandler> handlers) =>
        handlers.Select((handler, registered) => (handler, registered, rank: Rank(handler.GetType())))
            .OrderBy(h => h.rank)
            .ThenBy(h => h.registered)
            .Select(h => h.handler)
            .ToArray();

    private static int Rank(Type type)
    {
        var index = Array.IndexOf(Order, type);
        return index < 0 ? Order.Length : index;
    }
}
