using System.Globalization;
using System.Text.Json;

namespace RpcShield.JsonRpc;

/// <summary>Ethereum JSON-RPC quantities (`"0x1a"`): the one parser/formatter for block numbers and the like.</summary>
internal static class HexQuantity
{
    /// <summary>`0x` followed by 1–16 hex digits, non-negative as a long.</summary>
    public static bool TryParse(string? text, out long value)
    {
        value = 0;
        return text is { Length: > 2 and <= 18 } && text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            && long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && value >= 0;
    }

    /// <summary><see cref="TryParse(string?, out long)"/> on the UTF-8 text of a JSON string (without quotes): no string made.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        return text.Length is > 2 and <= 18 && text[0] == (byte)'0' && (text[1] | 0x20) == (byte)'x'
            && System.Buffers.Text.Utf8Parser.TryParse(text[2..], out ulong parsed, out var consumed, 'x') && consumed == text.Length - 2
            && parsed <= long.MaxValue && (value = (long)parsed) >= 0;
    }

    public static long Parse(string? text) => TryParse(text, out var value) ? value : throw new FormatException("not a hex quantity");

    public static string Format(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Reads the `result` of a JSON-RPC response as a quantity, skipping everything else.</summary>
    public static bool TryReadResult(ReadOnlySpan<byte> response, out long value)
    {
        value = 0;
        try
        {
            var reader = new Utf8JsonReader(response);
            return SeekResult(ref reader) && reader.TokenType == JsonTokenType.String && TryParse(reader.GetString(), out value);
        }
        catch (JsonException)
        {
        }

        return false;
    }

    /// <summary>Moves a reader at the start of a JSON-RPC response onto its `result` value; false when there is none. May throw <see cref="JsonException"/>.</summary>
    internal static bool SeekResult(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isResult = reader.ValueTextEquals("result"u8);
            reader.Read();
            if (isResult)
            {
                return true;
            }

            reader.Skip();
        }

        return false;
    }
}
