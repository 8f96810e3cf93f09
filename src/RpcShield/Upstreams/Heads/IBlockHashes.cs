namespace RpcShield.Upstreams.Heads;

/// <summary>The block hashes the proxy has seen per number (the head tracker's record of each upstream's recent blocks).</summary>
internal interface IBlockHashes
{
    /// <summary>The hash of block <paramref name="number"/> on the chain's best head, as an upstream at that head showed it; unknown when none remembers it.</summary>
    BlockHash CanonicalHash(string chain, long number);

    /// <summary>The hash of block <paramref name="number"/> as <paramref name="upstream"/> showed it; unknown when not remembered.</summary>
    BlockHash HashShownBy(Upstream upstream, long number);
}
