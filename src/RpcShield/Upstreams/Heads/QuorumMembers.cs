using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Heads;

/// <summary>
/// Who is asked when one read goes to several upstreams (nonce quorum, verified reads): the first
/// candidate, which any read would reach anyway, and the next best for the extra requests; where
/// any upstream of the chain is marked `trusted`, the extra requests go only to trusted ones (they
/// show the bot's calldata to more providers).
/// </summary>
internal static class QuorumMembers
{
    public static Upstream[] Pick(ChainRuntime chain, Upstream[] candidates, int size)
    {
        if (candidates.Length == 0)
        {
            return [];
        }

        var anyTrusted = false;
        foreach (var upstream in chain.Upstreams)
        {
            anyTrusted |= upstream.Options.Trusted;
        }

        var members = new List<Upstream>(size) { candidates[0] };
        for (var i = 1; i < candidates.Length && members.Count < size; i++)
        {
            if (!anyTrusted || candidates[i].Options.Trusted)
            {
                members.Add(candidates[i]);
            }
        }

        return [.. members];
    }

    /// <summary>Sends <paramref name="item"/> to every member at once and waits for all (each bounded by the method's attempt timeout): one parallel round trip.</summary>
    public static Task<AttemptOutcome[]> AskAllAsync(UpstreamSender sender, RpcCall call, ChainRuntime chain, RpcRequestItem item, Upstream[] members, CancellationToken cancellationToken)
    {
        var perAttempt = chain.Options.Routing.Timeouts.PerAttempt;
        var timeout = chain.Methods[item.Method].Timeout is { } own && own < perAttempt ? own : perAttempt;
        var asked = new Task<AttemptOutcome>[members.Length];
        for (var i = 0; i < members.Length; i++)
        {
            asked[i] = sender.SendAsync(members[i], item.Raw, item.Method, timeout, call, cancellationToken).AsTask();
        }

        return Task.WhenAll(asked);
    }
}
