using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Routing;

/// <summary>
/// `latest`-tagged reads (and `eth_blockNumber`) go to upstreams at the best known head first,
/// so a read never lands on a node a block or two behind while a node at the head is available.
/// </summary>
internal static class HeadPreference
{
    /// <summary>
    /// <paramref name="candidates"/> with upstreams at the best head first (a stable reorder, in a new
    /// array: the candidates may be the chain's ranking itself and are never modified).
    /// </summary>
    public static Upstream[] PreferBestHead(ChainRuntime chain, RpcRequestItem item, Upstream[] candidates)
    {
        if (candidates.Length < 2 || !TargetsLatest(item))
        {
            return candidates;
        }

        var best = chain.BestHead;
        if (best < 0 || candidates[0].Health.Head >= best)
        {
            return candidates;
        }

        Span<bool> atHead = stackalloc bool[Math.Min(candidates.Length, 64)];
        var any = false;
        for (var i = 0; i < atHead.Length; i++)
        {
            atHead[i] = candidates[i].Health.Head >= best;
            any |= atHead[i];
        }

        if (!any)
        {
            return candidates;
        }

        // Candidates beyond the first 64 (never, in practice) keep their place after them.
        var reordered = new Upstream[candidates.Length];
        candidates.AsSpan(atHead.Length).CopyTo(reordered.AsSpan(atHead.Length));
        var n = 0;
        for (var pass = 0; pass < 2; pass++)
        {
            for (var i = 0; i < atHead.Length; i++)
            {
                if (atHead[i] == (pass == 0))
                {
                    reordered[n++] = candidates[i];
                }
            }
        }

        return reordered;
    }

    /// <summary>True for eth_blockNumber and for reads whose params name the `latest` or `pending` tag.</summary>
    public static bool TargetsLatest(RpcRequestItem item)
    {
        if (item.Method == "eth_blockNumber")
        {
            return true;
        }

        var span = item.Params.Span;
        return span.IndexOf("\"latest\""u8) >= 0 || span.IndexOf("\"pending\""u8) >= 0;
    }
}
