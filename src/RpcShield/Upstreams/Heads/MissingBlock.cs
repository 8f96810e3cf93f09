using RpcShield.JsonRpc;
using RpcShield.Upstreams;

namespace RpcShield.Upstreams.Heads;

/// <summary>
/// Tells a node that is merely behind from a faulty one when it answers "header not found" or
/// "unknown block": behind when its known head is below the block the request named (or, for a
/// tag or hash, below the chain's best head). Runs only on a JSON-RPC error, never on an answer.
/// </summary>
internal static class MissingBlock
{
    // geth/reth: "header not found", "unknown block"; anvil: -32602 "BlockOutOfRangeError: block height is 0 but requested was 5".
    private static readonly string[] Messages = ["header not found", "unknown block", "block not found", "BlockOutOfRange"];

    public static bool IsBehind(Upstream upstream, UpstreamReply reply, ReadOnlySpan<byte> request)
    {
        if (!IsMissingBlockMessage(reply.ErrorMessage))
        {
            return false;
        }

        var requested = -1L;
        var envelope = RpcEnvelopeParser.Parse(request.ToArray(), maxBatchItems: 1);
        if (envelope is { Kind: EnvelopeKind.Single, Items: [var item] }
            && BlockRef.Read(item.Method, item.Params.Span) is { Kind: BlockRefKind.Number } block)
        {
            requested = block.Number;
        }

        return upstream.Health.IsBehind(requested);
    }

    public static bool IsMissingBlockMessage(string? message)
    {
        if (message is null)
        {
            return false;
        }

        foreach (var fragment in Messages)
        {
            if (message.Contains(fragment, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
