using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using RpcShield.Configuration;

namespace RpcShield.Features.Inclusion;

/// <summary>
/// Pure decisions of inclusion tracking: who built a block (configured `coinbase` = block.miner, else
/// a configured `extra_data` substring of the block's extraData decoded as UTF-8), and what became of
/// a bundle in its target block (`included`, `lost` to a same-sender same-nonce competitor, or `not_included`).
/// </summary>
internal static class InclusionJudge
{
    /// <summary>Name of the configured builder that built the block, or <see cref="InclusionDecision.OtherBuilder"/>.</summary>
    public static string AttributeBuilder(BlockView block, IReadOnlyList<BuilderOptions> builders)
    {
        foreach (var builder in builders)
        {
            if (builder.Coinbase is { Length: > 0 } coinbase && string.Equals(coinbase, block.Miner, StringComparison.OrdinalIgnoreCase))
            {
                return builder.Name;
            }
        }

        var extra = ExtraDataText(block.ExtraDataHex);
        if (extra.Length > 0)
        {
            foreach (var builder in builders)
            {
                if (builder.ExtraData is { Length: > 0 } marker && extra.Contains(marker, StringComparison.OrdinalIgnoreCase))
                {
                    return builder.Name;
                }
            }
        }

        return InclusionDecision.OtherBuilder;
    }

    /// <summary>extraData hex → UTF-8 text (invalid bytes replaced); empty when absent or malformed.</summary>
    public static string ExtraDataText(string? hex)
    {
        if (string.IsNullOrEmpty(hex) || !hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || hex.Length % 2 != 0)
        {
            return "";
        }

        try
        {
            return Encoding.UTF8.GetString(Convert.FromHexString(hex.AsSpan(2)));
        }
        catch (FormatException)
        {
            return "";
        }
    }

    public static InclusionDecision Decide(TrackedBundle bundle, BlockView block, IReadOnlyList<BuilderOptions> builders)
    {
        var blockBuilder = AttributeBuilder(block, builders);
        var hashes = new HashSet<string>(bundle.TxHashes, StringComparer.OrdinalIgnoreCase);
        foreach (var tx in block.Transactions)
        {
            if (hashes.Contains(tx.Hash))
            {
                return new InclusionDecision(InclusionDecision.Included, blockBuilder, null);
            }
        }

        foreach (var mine in bundle.Transactions)
        {
            foreach (var tx in block.Transactions)
            {
                if (tx.Nonce == mine.Nonce && string.Equals(tx.From, mine.Sender, StringComparison.OrdinalIgnoreCase)
                    && !string.Equals(tx.Hash, mine.Hash, StringComparison.OrdinalIgnoreCase))
                {
                    return new InclusionDecision(InclusionDecision.Lost, blockBuilder, tx.Hash);
                }
            }
        }

        return new InclusionDecision(InclusionDecision.NotIncluded, blockBuilder, null);
    }

    /// <summary>Reads a full `eth_getBlockByNumber(n, true)` JSON-RPC response; null when there is no block.</summary>
    public static BlockView? ParseBlock(ReadOnlySpan<byte> response)
    {
        var reader = new Utf8JsonReader(response);
        using var document = JsonDocument.ParseValue(ref reader);
        if (!document.RootElement.TryGetProperty("result", out var block) || block.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var transactions = new List<BlockTransaction>();
        if (block.TryGetProperty("transactions", out var txs) && txs.ValueKind == JsonValueKind.Array)
        {
            foreach (var tx in txs.EnumerateArray())
            {
                if (tx.ValueKind == JsonValueKind.Object)
                {
                    transactions.Add(new BlockTransaction(Text(tx, "hash"), Text(tx, "from"), ParseQuantity(Text(tx, "nonce"))));
                }
                else if (tx.ValueKind == JsonValueKind.String)
                {
                    transactions.Add(new BlockTransaction(tx.GetString()!, "", BigInteger.MinusOne));
                }
            }
        }

        return new BlockView((long)ParseQuantity(Text(block, "number")), Text(block, "miner"), Text(block, "extraData"), transactions)
        {
            BaseFeePerGas = ParseQuantity(Text(block, "baseFeePerGas")),
        };
    }

    public static BigInteger ParseQuantity(string? hex) =>
        hex is { Length: > 2 } && hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
        && BigInteger.TryParse("0" + hex[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            ? value
            : BigInteger.MinusOne;

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
}
