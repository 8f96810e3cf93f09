namespace RpcShield.Upstreams.Heads;

/// <summary>What block a read asks about (see <see cref="BlockRef"/>).</summary>
internal enum BlockRefKind : byte
{
    /// <summary>Not a head-dependent method, or params that could not be read: routed as any read.</summary>
    None,
    /// <summary>A method with no block parameter whose answer follows the tip (eth_blockNumber, eth_gasPrice).</summary>
    Tip,
    /// <summary>The block parameter is absent: nodes take `latest`.</summary>
    Omitted,
    Latest,
    Pending,
    Safe,
    Finalized,
    Earliest,
    /// <summary>An explicit block number (hex string or EIP-1898 `{blockNumber}`).</summary>
    Number,
    /// <summary>A block hash (EIP-1898 `{blockHash}`): no head constraint.</summary>
    Hash,
}
