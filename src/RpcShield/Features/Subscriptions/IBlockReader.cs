using RpcShield.Upstreams;

namespace RpcShield.Features.Subscriptions;

/// <summary>Block reads over HTTP for the head poller (the routed read path; a fake in unit tests).</summary>
internal interface IBlockReader
{
    /// <summary>`eth_getBlockByNumber("latest", false)` on the chain's best upstream (null when nobody answered).</summary>
    ValueTask<PolledBlock?> LatestAsync(string chain, CancellationToken cancellationToken);

    /// <summary>`eth_getBlockByHash(hash, false)`, asked first of <paramref name="prefer"/> (the node that reported the child).</summary>
    ValueTask<PolledBlock?> ByHashAsync(string chain, string hash, Upstream? prefer, CancellationToken cancellationToken);
}
