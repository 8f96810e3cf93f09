using System.Text.Json;
using RpcShield.JsonRpc;

namespace RpcShield.Upstreams.Heads;

/// <summary>The fields of a block header the head tracker needs, from a newHeads notification or an eth_getBlockByNumber answer.</summary>
internal readonly record struct BlockHeader(long Number, string? Hash, string? ParentHash)
{
    /// <summary>Reads a header object (`{"number":"0x…","hash":"0x…","parentHash":"0x…",…}`).</summary>
    public static bool TryParse(ReadOnlySpan<byte> json, out BlockHeader header)
    {
        header = default;
        try
        {
            var reader = new Utf8JsonReader(json);
            return reader.Read() && TryRead(ref reader, out header);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Reads the header in the `result` of a JSON-RPC response (false for an error or a null result).</summary>
    public static bool TryReadResult(ReadOnlySpan<byte> response, out BlockHeader header)
    {
        header = default;
        try
        {
            var reader = new Utf8JsonReader(response);
            return HexQuantity.SeekResult(ref reader) && TryRead(ref reader, out header);
        }
        catch (JsonException)
        {
        }

        return false;
    }

    private static bool TryRead(ref Utf8JsonReader reader, out BlockHeader header)
    {
        header = default;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        long number = -1;
        string? hash = null;
        string? parent = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("number"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && HexQuantity.TryParse(reader.ValueSpan, out var parsed))
                {
                    number = parsed;
                }
            }
            else if (reader.ValueTextEquals("hash"u8))
            {
                reader.Read();
                hash = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("parentHash"u8))
            {
                reader.Read();
                parent = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        header = new BlockHeader(number, hash, parent);
        return number >= 0;
    }
}
