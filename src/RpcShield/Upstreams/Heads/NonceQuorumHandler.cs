using RpcShield.Chains;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Heads;

/// <summary>
/// eth_getTransactionCount at `latest` or `pending` (or with no tag) asks the best
/// `routing.consistency.nonce_quorum` upstreams in parallel, with the tag as the client sent it
/// (never pinned), and answers the highest count (extra requests only to `trusted` upstreams where any is marked): one node that has not seen the bot's last
/// transaction yet cannot hand out a nonce that is already used. One parallel round trip; an
/// explicit block and a quorum of 1 are routed as any read.
/// </summary>
internal sealed class NonceQuorumHandler(UpstreamSender sender, ReadForwarder reads) : IRpcHandler
{
    private const string Method = "eth_getTransactionCount";

    public bool Handles(ChainRuntime chain, string method) => method == Method && chain.Options.Routing.Consistency.NonceQuorum > 1;

    public ValueTask<ForwardResult> HandleAsync(RpcCall call, RpcRequestItem item, CancellationToken cancellationToken)
    {
        var chain = call.Chain;
        var block = BlockRef.Read(item.Method, item.Params.Span);
        var quorum = chain.Options.Routing.Consistency.NonceQuorum;
        if (block.Kind is not (BlockRefKind.Latest or BlockRefKind.Pending or BlockRefKind.Omitted))
        {
            return reads.ForwardAsync(chain, item, cancellationToken, call);
        }

        var candidates = HeadPreference.PreferAtLeast(chain.Candidates(item.Method, int.MaxValue), chain.BestHead);
        if (candidates.Length < 2)
        {
            return reads.ForwardAsync(chain, item, cancellationToken, call);
        }

        var members = QuorumMembers.Pick(chain, candidates, quorum);
        return members.Length < 2 ? reads.ForwardAsync(chain, item, cancellationToken, call) : AskAsync(call, item, members, cancellationToken);
    }

    private async ValueTask<ForwardResult> AskAsync(RpcCall call, RpcRequestItem item, Upstream[] quorum, CancellationToken cancellationToken)
    {
        var outcomes = await QuorumMembers.AskAllAsync(sender, call, call.Chain, item, quorum, cancellationToken).ConfigureAwait(false);
        AttemptOutcome? highest = null;
        AttemptOutcome? nodeAnswer = null;
        var highestCount = -1L;
        List<AttemptRecord>? failed = null;
        foreach (var outcome in outcomes)
        {
            if (outcome is { Kind: AttemptKind.Answered, Body: { } body })
            {
                if (!outcome.Reply.HasError && HexQuantity.TryReadResult(body.Span, out var count))
                {
                    if (count > highestCount)
                    {
                        (highest, highestCount) = (outcome, count);
                    }
                }
                else
                {
                    nodeAnswer ??= outcome;
                }
            }
            else if (outcome.Kind != AttemptKind.Cancelled)
            {
                (failed ??= []).Add(new AttemptRecord(outcome.Upstream.Name, outcome.Reason));
            }
        }

        var chosen = highest ?? nodeAnswer;
        ForwardResult? result = chosen is null ? null : ForwardResult.Served(chosen.TakeBody()!, chosen.Upstream, chosen.Reply.HasError, failed?.ToArray() ?? []);
        foreach (var outcome in outcomes)
        {
            outcome.Dispose();
        }

        // Nobody in the quorum answered: the read forwarder fails over through the whole ranking.
        return result ?? await reads.ForwardAsync(call.Chain, item, cancellationToken, call).ConfigureAwait(false);
    }
}
