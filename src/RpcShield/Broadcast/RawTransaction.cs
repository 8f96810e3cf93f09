using System.Text.Json;
using Nethereum.Util;

namespace RpcShield.Broadcast;

/// <summary>The raw transaction of an `eth_sendRawTransaction`-style call and its hash (keccak256 of the raw bytes).</summary>
public static class RawTransaction
{
    /// <summary>Reads params[0] (a 0x-prefixed hex string) and returns its tx hash as 0x-prefixed lowercase hex.</summary>
    public static bool TryHash(ReadOnlySpan<byte> paramsJson, out string hash, out string error)
    {
        hash = "";
        error = "params must be [\"0x<signed raw transaction>\"]";
        try
        {
            var reader = new Utf8JsonReader(paramsJson);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray || !reader.Read() || reader.TokenType != JsonTokenType.String)
            {
                return false;
            }

            var hex = reader.GetString()!;
            if (hex.Length < 4 || !hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || hex.Length % 2 != 0)
            {
                error = "params[0] must be a 0x-prefixed, even-length hex string";
                return false;
            }

            byte[] raw;
            try
            {
                raw = Convert.FromHexString(hex.AsSpan(2));
            }
            catch (FormatException)
            {
                error = "params[0] is not valid hex";
                return false;
            }

            hash = "0x" + Convert.ToHexStringLower(Sha3Keccack.Current.CalculateHash(raw));
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
