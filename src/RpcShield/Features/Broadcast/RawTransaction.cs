using System.Text.Json;
using Nethereum.Util;

namespace RpcShield.Features.Broadcast;

/// <summary>The raw transaction of an `eth_sendRawTransaction`-style call and its hash (keccak256 of the raw bytes).</summary>
internal static class RawTransaction
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

            hash = "0x" + Convert.ToHexStringLower(Sha3Keccack.Current.CalculateHash(HashedBytes(raw)));
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// The bytes a tx hash covers. A blob transaction in network form
    /// (`0x03 || rlp([tx_payload_body, blobs, commitments, proofs])`) is hashed without its sidecar:
    /// `keccak(0x03 || rlp(tx_payload_body))`. Every other type hashes its raw bytes.
    /// </summary>
    internal static byte[] HashedBytes(byte[] raw)
    {
        if (raw.Length < 3 || raw[0] != 0x03
            || !TryListHeader(raw.AsSpan(1), out var outerHeader, out _)
            || !TryListHeader(raw.AsSpan(1 + outerHeader), out var innerHeader, out var innerPayload))
        {
            return raw;
        }

        var innerLength = innerHeader + innerPayload;
        if (1 + outerHeader + innerLength > raw.Length)
        {
            return raw;
        }

        var body = new byte[1 + innerLength];
        body[0] = 0x03;
        raw.AsSpan(1 + outerHeader, innerLength).CopyTo(body.AsSpan(1));
        return body;
    }

    private static bool TryListHeader(ReadOnlySpan<byte> data, out int headerLength, out int payloadLength)
    {
        headerLength = payloadLength = 0;
        if (data.IsEmpty || data[0] < 0xc0)
        {
            return false;
        }

        if (data[0] <= 0xf7)
        {
            headerLength = 1;
            payloadLength = data[0] - 0xc0;
            return true;
        }

        var lengthOfLength = data[0] - 0xf7;
        if (lengthOfLength > 4 || data.Length < 1 + lengthOfLength)
        {
            return false;
        }

        for (var i = 1; i <= lengthOfLength; i++)
        {
            payloadLength = (payloadLength << 8) | data[i];
        }

        headerLength = 1 + lengthOfLength;
        return payloadLength >= 0;
    }
}
