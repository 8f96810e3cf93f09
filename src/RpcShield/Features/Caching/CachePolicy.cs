using System.Collections.Frozen;
using System.Text.Json;
using RpcShield.Upstreams.Heads;
using RpcShield.JsonRpc;

namespace RpcShield.Features.Caching;

/// <summary>
/// Which reads may be kept, and for how long (docs/caching.md): final data at or below the
/// finalized block, head data at `latest` while the best head is unchanged, by-hash answers once
/// their block is final, eth_chainId and net_version for ever; everything else is never kept.
/// </summary>
internal static class CachePolicy
{
    /// <summary>Reads at a block parameter: kept at a final number, and at `latest` as head data.</summary>
    private static readonly FrozenSet<string> AtBlock = new[]
    {
        "eth_getBlockByNumber", "eth_getBlockReceipts", "eth_getBlockTransactionCountByNumber", "eth_getTransactionByBlockNumberAndIndex",
        "eth_getBalance", "eth_getCode", "eth_getStorageAt", "eth_call", "eth_getTransactionCount",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Lookups by block or transaction hash: the answer names its block.</summary>
    private static readonly FrozenSet<string> ByHash = new[]
    {
        "eth_getBlockByHash", "eth_getTransactionByHash", "eth_getTransactionReceipt", "eth_getBlockTransactionCountByHash", "eth_getTransactionByBlockHashAndIndex",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>How <paramref name="method"/> with <paramref name="params"/> may be kept when blocks up to <paramref name="finalized"/> are final.</summary>
    public static CacheRule Classify(string method, ReadOnlySpan<byte> @params, long finalized)
    {
        if (method is "eth_chainId" or "net_version")
        {
            return new CacheRule(CacheRuleKind.Forever);
        }

        if (method == "eth_blockNumber")
        {
            return new CacheRule(CacheRuleKind.ShareOnly);
        }

        if (ByHash.Contains(method))
        {
            return new CacheRule(CacheRuleKind.ByHash);
        }

        if (method == "eth_getLogs")
        {
            return LogsRule(@params, finalized);
        }

        if (!AtBlock.Contains(method))
        {
            return CacheRule.Never;
        }

        var block = BlockRef.Read(method, @params);
        return block.Kind switch
        {
            BlockRefKind.Number when block.Number <= finalized => new CacheRule(CacheRuleKind.Final, block.Number),
            BlockRefKind.Earliest when finalized >= 0 => new CacheRule(CacheRuleKind.Final, 0),
            BlockRefKind.Latest => new CacheRule(CacheRuleKind.Head),
            BlockRefKind.Omitted when !@params.IsEmpty && method != "eth_getBlockByNumber" => new CacheRule(CacheRuleKind.Head),
            BlockRefKind.Hash when method == "eth_getBlockReceipts" => new CacheRule(CacheRuleKind.ByHash),
            // A number above the finalized block, pending, safe, finalized: may still change.
            _ => CacheRule.Never,
        };
    }

    /// <summary>eth_getLogs over an explicit range that ends at or below the finalized block; no range, a tag or a blockHash filter is never kept.</summary>
    private static CacheRule LogsRule(ReadOnlySpan<byte> @params, long finalized)
    {
        long from = -1;
        long to = -1;
        try
        {
            var reader = new Utf8JsonReader(@params);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return CacheRule.Never;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isFrom = reader.ValueTextEquals("fromBlock"u8);
                var isTo = reader.ValueTextEquals("toBlock"u8);
                if (reader.ValueTextEquals("blockHash"u8))
                {
                    return CacheRule.Never;
                }

                reader.Read();
                if ((isFrom || isTo) && reader.TokenType == JsonTokenType.String && HexQuantity.TryParse(reader.GetString(), out var number))
                {
                    if (isFrom)
                    {
                        from = number;
                    }
                    else
                    {
                        to = number;
                    }
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            return CacheRule.Never;
        }

        return from >= 0 && to >= from && to <= finalized ? new CacheRule(CacheRuleKind.Final, to) : CacheRule.Never;
    }

    /// <summary>
    /// The `result` of a node's answer, if it may be kept under <paramref name="rule"/>: not an
    /// error, not null, and for a by-hash lookup in a block at or below <paramref name="finalized"/>
    /// (<paramref name="block"/> is then that block). <paramref name="hash"/> is the hash of
    /// <paramref name="block"/> where the answer names it (a block's `hash`, a transaction's or
    /// receipt's `blockHash`); unknown otherwise.
    /// </summary>
    public static bool TryTakeResult(ReadOnlySpan<byte> response, CacheRule rule, long finalized, out ReadOnlySpan<byte> result, out long block, out BlockHash hash)
    {
        block = rule.Block;
        hash = default;
        return TryReadMember(response, out var isError, out result) && !isError && TryTakeValue(result, rule, finalized, out block, out hash);
    }

    /// <summary><see cref="TryTakeResult"/> for a `result` value already read from its answer.</summary>
    public static bool TryTakeValue(ReadOnlySpan<byte> result, CacheRule rule, long finalized, out long block, out BlockHash hash)
    {
        block = rule.Block;
        hash = default;
        if (result.SequenceEqual("null"u8))
        {
            return false;
        }

        if (rule.Kind == CacheRuleKind.Head)
        {
            return true;
        }

        var named = BlockOf(result, out var namedHash);
        if (rule.Kind != CacheRuleKind.ByHash)
        {
            hash = named == block ? namedHash : default;
            return true;
        }

        (block, hash) = (named, namedHash);
        return block >= 0 && block <= finalized;
    }

    /// <summary>The raw `result` or `error` value of a single JSON-RPC response.</summary>
    public static bool TryReadMember(ReadOnlySpan<byte> response, out bool isError, out ReadOnlySpan<byte> value)
    {
        isError = false;
        value = default;
        try
        {
            var reader = new Utf8JsonReader(response, new JsonReaderOptions { MaxDepth = UpstreamReply.MaxResponseDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isResult = reader.ValueTextEquals("result"u8);
                var error = reader.ValueTextEquals("error"u8);
                reader.Read();
                if ((isResult || error) && reader.TokenType != JsonTokenType.Null)
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    value = response[start..(int)reader.BytesConsumed];
                    isError = error;
                    return true;
                }

                if (isResult)
                {
                    value = "null"u8;
                    return true;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    /// <summary>
    /// The block an answer object sits in and its hash: `blockNumber`/`blockHash` (transactions,
    /// receipts) or `number`/`hash` (blocks); -1 when pending, absent, or the answer is not an object
    /// (a count, a balance, a list).
    /// </summary>
    private static long BlockOf(ReadOnlySpan<byte> result, out BlockHash hash)
    {
        hash = default;
        if (result.IsEmpty || result[0] != (byte)'{')
        {
            return -1;
        }

        long number = -1, blockNumber = -1;
        BlockHash own = default, inBlock = default;
        try
        {
            var reader = new Utf8JsonReader(result, new JsonReaderOptions { MaxDepth = UpstreamReply.MaxResponseDepth });
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName
                && !(blockNumber >= 0 && inBlock.IsKnown) && !(number >= 0 && own.IsKnown))
            {
                var field = reader.ValueTextEquals("blockNumber"u8) ? 1 : reader.ValueTextEquals("number"u8) ? 2
                    : reader.ValueTextEquals("blockHash"u8) ? 3 : reader.ValueTextEquals("hash"u8) ? 4 : 0;
                reader.Read();
                if (field != 0 && reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
                {
                    switch (field)
                    {
                        case 1: blockNumber = HexQuantity.TryParse(reader.ValueSpan, out var n1) ? n1 : -1; break;
                        case 2: number = HexQuantity.TryParse(reader.ValueSpan, out var n2) ? n2 : -1; break;
                        case 3: inBlock = BlockHash.Parse(reader.ValueSpan); break;
                        default: own = BlockHash.Parse(reader.ValueSpan); break;
                    }
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            return -1;
        }

        // A transaction's own `hash` is not its block's: `blockNumber` names a transaction or receipt.
        if (blockNumber >= 0)
        {
            hash = inBlock;
            return blockNumber;
        }

        hash = number >= 0 ? own : default;
        return number;
    }
}
