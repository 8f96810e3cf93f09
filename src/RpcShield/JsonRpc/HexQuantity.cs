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

    public static long Parse(string? text) => TryParse(text, out var value) ? value : throw new FormatException("not a hex quantity");

    public static string Format(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>Reads the `result` of a JSON-RPC response as a quantity, skipping everything else.</summary>
    public static bool TryReadResult(ReadOnlySpan<byte> response, out long value)
    {
        value = 0;
        try
        {
            var reader = new Utf8JsonReader(response);
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
                    return reader.TokenType == JsonTokenType.String && TryParse(reader.GetString(), out value);
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }
}
