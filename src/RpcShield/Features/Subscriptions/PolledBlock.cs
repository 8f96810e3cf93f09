using System.Text;
using System.Text.Json.Nodes;
using RpcShield.Upstreams;

namespace RpcShield.Features.Subscriptions;

/// <summary>One block read over HTTP for a synthesised subscription: its identity and its `newHeads` header.</summary>
internal sealed record PolledBlock(long Number, string Hash, string? ParentHash, byte[] Header, Upstream? ServedBy)
{
    /// <summary>Reads an `eth_getBlockBy*` result (null when it is not a block).</summary>
    public static PolledBlock? From(JsonNode? result, Upstream? servedBy)
    {
        // A node's answer is untrusted input: anything but a block with a hex number and a hash is no block.
        if (result is not JsonObject block
            || block["number"] is not JsonValue number || !number.TryGetValue<string>(out var numberText) || !JsonRpc.HexQuantity.TryParse(numberText, out var height)
            || block["hash"] is not JsonValue hashValue || !hashValue.TryGetValue<string>(out var hash))
        {
            return null;
        }

        var parent = block["parentHash"] is JsonValue p && p.TryGetValue<string>(out var parentHash) ? parentHash : null;
        return new PolledBlock(height, hash, parent, HeaderOf(block), servedBy);
    }

    /// <summary>A block minus its body is the header `newHeads` delivers.</summary>
    public static byte[] HeaderOf(JsonObject block)
    {
        block.Remove("transactions");
        block.Remove("uncles");
        block.Remove("withdrawals");
        block.Remove("size");
        return Encoding.UTF8.GetBytes(block.ToJsonString());
    }
}
