using RpcShield.Chains;
using RpcShield.Configuration;

namespace RpcShield.Routing;

/// <summary>How long to wait before hedging a slow attempt (infinite: only fail over on failure).</summary>
internal interface IHedgeDelayPolicy
{
    /// <summary>The hedge delay for a request; <see cref="Timeout.InfiniteTimeSpan"/> (never hedge) when <paramref name="hedgeable"/> is false.</summary>
    TimeSpan DelayFor(ChainRuntime chain, string method, bool hedgeable);

    /// <summary>Extra parallel attempts one slow request may start (counted apart from failovers).</summary>
    int MaxExtra(ChainRuntime chain) => 0;

    /// <summary>Told the outcome of every attempt of a forwarded read (feeds the per-method latency quantiles).</summary>
    void Observe(ChainRuntime chain, string method, Upstreams.AttemptOutcome attempt)
    {
    }

    /// <summary>Told when a hedge is sent and, when the request is served, whether a hedge won.</summary>
    void Report(ChainRuntime chain, string method, HedgeResult result)
    {
    }
}

/// <summary>`result` label of rpcshield_hedges_total.</summary>
internal enum HedgeResult
{
    /// <summary>A hedge attempt was started because the previous one was slow.</summary>
    Sent,
    /// <summary>A hedge attempt's answer was served.</summary>
    Won,
    /// <summary>Hedges were sent but the original attempt's answer was served.</summary>
    Lost,
}

/// <summary>Which methods may ever be sent twice.</summary>
internal static class HedgePolicy
{
    /// <summary>Sends, filters and anything stateful on the node: never duplicated.</summary>
    internal static readonly string[] NeverHedge =
        ["eth_send*", "eth_sign*", "eth_newFilter", "eth_newBlockFilter", "eth_newPendingTransactionFilter", "eth_getFilterChanges",
         "eth_uninstallFilter", "eth_subscribe", "eth_unsubscribe", "personal_*", "anvil_*", "evm_*", "hardhat_*", "miner_*", "admin_*",
         "mev_*", "eth_cancel*"];

    public static bool IsHedgeable(string method, RoutingOptions routing) =>
        !MethodGlob.MatchesAny(NeverHedge, method)
        && !MethodGlob.MatchesAny(routing.Broadcast, method)
        && !MethodGlob.MatchesAny(routing.Fanout, method);
}

/// <summary>Failover only: no hedging (used until the adaptive policy is configured).</summary>
internal sealed class NoHedging : IHedgeDelayPolicy
{
    public TimeSpan DelayFor(ChainRuntime chain, string method, bool hedgeable) => Timeout.InfiniteTimeSpan;
}
