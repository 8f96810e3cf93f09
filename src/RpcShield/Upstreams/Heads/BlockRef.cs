using System.Collections.Frozen;
using System.Text.Json;
using RpcShield.JsonRpc;

namespace RpcShield.Upstreams.Heads;

/// <summary>
/// The block a read's answer depends on, read from its params without materialising them: the
/// tag or number at the method's block-parameter position, and where a `"latest"` token sits
/// (so it can be pinned to a number).
/// </summary>
internal readonly record struct BlockRef(BlockRefKind Kind, long Number = -1, int LatestStart = -1, int LatestLength = 0)
{
    /// <summary>
    /// Index of the block parameter per method (-1: the method has none but follows the tip).
    /// eth_getBalance [addr, tag], eth_getStorageAt [addr, slot, tag], eth_call [tx, tag], eth_getBlockByNumber [tag, full], …
    /// </summary>
    private static readonly FrozenDictionary<string, int> Positions = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["eth_blockNumber"] = -1,
        ["eth_gasPrice"] = -1,
        ["eth_maxPriorityFeePerGas"] = -1,
        ["eth_blobBaseFee"] = -1,
        ["eth_getBlockByNumber"] = 0,
        ["eth_getBlockReceipts"] = 0,
        ["eth_getBlockTransactionCountByNumber"] = 0,
        ["eth_getTransactionByBlockNumberAndIndex"] = 0,
        ["eth_getUncleCountByBlockNumber"] = 0,
        ["eth_getUncleByBlockNumberAndIndex"] = 0,
        ["eth_getBalance"] = 1,
        ["eth_getCode"] = 1,
        ["eth_getTransactionCount"] = 1,
        ["eth_call"] = 1,
        ["eth_estimateGas"] = 1,
        ["eth_createAccessList"] = 1,
        ["eth_feeHistory"] = 1,
        ["eth_getStorageAt"] = 2,
        ["eth_getProof"] = 2,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static readonly BlockRef NotHeadDependent = new(BlockRefKind.None);

    /// <summary>True when the answer follows the chain tip (`latest`, `pending`, `safe`, `finalized`, no block argument).</summary>
    public bool DependsOnTip => Kind is BlockRefKind.Tip or BlockRefKind.Omitted or BlockRefKind.Latest or BlockRefKind.Pending or BlockRefKind.Safe or BlockRefKind.Finalized;

    /// <summary>True when the method takes a block parameter that can be pinned (a `"latest"` token was found).</summary>
    public bool CanPin => LatestStart >= 0;

    /// <summary>True for methods whose answer depends on a block (those this type reads).</summary>
    public static bool IsHeadDependent(string method) => Positions.ContainsKey(method);

    /// <summary>Reads the block reference of <paramref name="method"/> from its raw <paramref name="params"/> (a JSON array).</summary>
    public static BlockRef Read(string method, ReadOnlySpan<byte> @params)
    {
        if (!Positions.TryGetValue(method, out var position))
        {
            return NotHeadDependent;
        }

        if (position < 0)
        {
            return new BlockRef(BlockRefKind.Tip);
        }

        if (@params.IsEmpty)
        {
            return new BlockRef(BlockRefKind.Omitted);
        }

        try
        {
            var reader = new Utf8JsonReader(@params);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return NotHeadDependent;
            }

            for (var index = 0; reader.Read(); index++)
            {
                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    return new BlockRef(BlockRefKind.Omitted);
                }

                if (index == position)
                {
                    return Classify(ref reader);
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return NotHeadDependent;
    }

    private static BlockRef Classify(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            if (reader.ValueIsEscaped)
            {
                return NotHeadDependent;
            }

            var text = reader.ValueSpan;
            if (text.SequenceEqual("latest"u8))
            {
                return new BlockRef(BlockRefKind.Latest, -1, (int)reader.TokenStartIndex, text.Length + 2);
            }

            return Tag(text);
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            return new BlockRef(BlockRefKind.Omitted);
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return NotHeadDependent;
        }

        // EIP-1898: { "blockNumber": "0x…" } or { "blockHash": "0x…", "requireCanonical": … }.
        var found = NotHeadDependent;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isNumber = reader.ValueTextEquals("blockNumber"u8);
            var isHash = reader.ValueTextEquals("blockHash"u8);
            reader.Read();
            if (isNumber && reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
            {
                found = Tag(reader.ValueSpan);
            }
            else if (isHash)
            {
                found = new BlockRef(BlockRefKind.Hash);
            }

            reader.Skip();
        }

        return found;
    }

    private static BlockRef Tag(ReadOnlySpan<byte> text)
    {
        if (HexQuantity.TryParse(text, out var number))
        {
            return new BlockRef(BlockRefKind.Number, number);
        }

        return text switch
        {
            _ when text.SequenceEqual("latest"u8) => new BlockRef(BlockRefKind.Latest),
            _ when text.SequenceEqual("pending"u8) => new BlockRef(BlockRefKind.Pending),
            _ when text.SequenceEqual("safe"u8) => new BlockRef(BlockRefKind.Safe),
            _ when text.SequenceEqual("finalized"u8) => new BlockRef(BlockRefKind.Finalized),
            _ when text.SequenceEqual("earliest"u8) => new BlockRef(BlockRefKind.Earliest),
            _ when text.Length == 66 => new BlockRef(BlockRefKind.Hash),
            _ => NotHeadDependent,
        };
    }
}
