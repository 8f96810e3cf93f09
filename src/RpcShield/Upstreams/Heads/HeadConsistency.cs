using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Heads;

/// <summary>
/// Head-consistent routing of one read. A read at the tip (`latest`, `pending`, `safe`,
/// `finalized`, no block argument) goes only to upstreams at the best known head; with
/// `pin_latest` a `latest` read may go to any node, those at the head first: a node behind gets it
/// rewritten to the best head's number (it answers "header not found" and is failed over without
/// counting as a fault), a node at the head gets it as sent (its own latest is never older). A read at an explicit block goes to upstreams whose head has reached
/// it first; one above the best head goes to the best upstreams as sent.
/// </summary>
internal static class HeadConsistency
{
    /// <summary>
    /// The candidates for <paramref name="item"/> (never modified: a new array when the set or the
    /// order changes), and, when `latest` is pinned, the pinned bytes for the upstreams behind the best head.
    /// </summary>
    public static Upstream[] Route(ChainRuntime chain, in RpcRequestItem item, Upstream[] candidates, out PinnedBody pinned)
    {
        pinned = default;
        var block = BlockRef.Read(item.Method, item.Params.Span);
        var best = chain.BestHead;
        if (best < 0 || block.Kind is BlockRefKind.None or BlockRefKind.Hash or BlockRefKind.Earliest)
        {
            return candidates;
        }

        if (block.Kind == BlockRefKind.Number)
        {
            return HeadPreference.PreferAtLeast(candidates, Math.Min(block.Number, best));
        }

        if (block.Kind == BlockRefKind.Tip && item.Method == "eth_blockNumber")
        {
            // Never lower than what the chain already answered (MonotonicHeadFilter): a node behind may take it when those at the head fail.
            return HeadPreference.PreferAtLeast(candidates, best);
        }

        if (block.CanPin && chain.Options.Routing.Consistency.PinLatest)
        {
            candidates = HeadPreference.PreferAtLeast(candidates, best);
            if (candidates[^1].Health.Head < best)
            {
                // Someone is behind: it gets the number (bytes made only then), the others `latest` as sent.
                var pinnedItem = Pin(item, block, best);
                pinned = pinnedItem.Raw.Length != item.Raw.Length || !pinnedItem.Raw.Equals(item.Raw) ? new PinnedBody(pinnedItem.Raw, best) : default;
            }

            return candidates;
        }

        return OnlyAtLeast(candidates, best);
    }

    /// <summary>Candidates whose head has reached <paramref name="block"/>; all of them when none has (best effort beats no answer).</summary>
    public static Upstream[] OnlyAtLeast(Upstream[] candidates, long block)
    {
        var count = 0;
        foreach (var upstream in candidates)
        {
            if (upstream.Health.Head >= block)
            {
                count++;
            }
        }

        if (count == candidates.Length || count == 0)
        {
            return candidates;
        }

        var result = new Upstream[count];
        var n = 0;
        foreach (var upstream in candidates)
        {
            if (upstream.Health.Head >= block)
            {
                result[n++] = upstream;
            }
        }

        return result;
    }

    /// <summary>The item with its `"latest"` block parameter replaced by `"0x…"` (<paramref name="head"/>); id and everything else byte-exact.</summary>
    internal static RpcRequestItem Pin(in RpcRequestItem item, BlockRef block, long head)
    {
        var raw = item.Raw.Span;
        if (!raw.Overlaps(item.Params.Span, out var paramsAt))
        {
            return item;
        }

        var start = paramsAt + block.LatestStart;
        Span<byte> number = stackalloc byte[20];
        number[0] = (byte)'"';
        number[1] = (byte)'0';
        number[2] = (byte)'x';
        if (!System.Buffers.Text.Utf8Formatter.TryFormat((ulong)head, number[3..], out var digits, new System.Buffers.StandardFormat('x')))
        {
            return item;
        }

        number[3 + digits] = (byte)'"';
        var token = number[..(digits + 4)];
        var pinned = new byte[raw.Length - block.LatestLength + token.Length];
        raw[..start].CopyTo(pinned);
        token.CopyTo(pinned.AsSpan(start));
        raw[(start + block.LatestLength)..].CopyTo(pinned.AsSpan(start + token.Length));
        var memory = new ReadOnlyMemory<byte>(pinned);
        return new RpcRequestItem(memory, item.Id, item.Method, memory.Slice(paramsAt, item.Params.Length - block.LatestLength + token.Length));
    }
}
