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
    /// (<paramref name="block"/> is then that block).
    /// </summary>
    public static bool TryTakeResult(ReadOnlySpan<byte> response, CacheRule rule, long finalized, out ReadOnlySpan<byte> result, out long block)
    {
        result = default;
        block = rule.Block;
        if (!TryReadMember(response, out var isError, out result) || isError || result.SequenceEqual("null"u8))
        {
            return false;
        }

        if (rule.Kind != CacheRuleKind.ByHash)
        {
            return true;
        }

        block = BlockOf(result);
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

    /// <summary>The block a by-hash answer sits in: `blockNumber` (transactions, receipts) or `number` (blocks); -1 when pending or absent.</summary>
    private static long BlockOf(ReadOnlySpan<byte> result)
    {
        try
        {
            var reader = new Utf8JsonReader(result, new JsonReaderOptions { MaxDepth = UpstreamReply.MaxResponseDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                // A bare count (eth_getBlockTransactionCountByHash) names no block: not kept.
                return -1;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isBlock = reader.ValueTextEquals("blockNumber"u8) || reader.ValueTextEquals("number"u8);
                reader.Read();
                if (isBlock && reader.TokenType == JsonTokenType.String && HexQuantity.TryParse(reader.GetString(), out var number))
                {
                    return number;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return -1;
    }
}
