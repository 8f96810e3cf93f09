namespace RpcShield.Features.Caching;

/// <summary>How a read may be kept (docs/caching.md).</summary>
internal enum CacheRuleKind
{
    /// <summary>Never kept, never shared in flight (sends, pending, filters, ranges above the finalized block, unknown methods).</summary>
    Never,

    /// <summary>Never kept, but identical reads in flight share one upstream request.</summary>
    ShareOnly,

    /// <summary>The same on every block (eth_chainId, net_version).</summary>
    Forever,

    /// <summary>At an explicit block number at or below the finalized block: kept until evicted.</summary>
    Final,

    /// <summary>By hash: kept once the answer is not null and its block is final.</summary>
    ByHash,

    /// <summary>At `latest`: valid while the chain's best head (number and hash) is unchanged.</summary>
    Head,
}
