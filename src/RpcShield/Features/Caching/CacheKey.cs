using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RpcShield.Features.Caching;

/// <summary>
/// A cache key: the method and the params in canonical form (no whitespace, `0x` hex strings in
/// lower case), so `["0xAB", true]` and `[ "0xab",true ]` share an entry. The chain is implied by
/// the per-chain store; nothing of the client (id, token, headers) is part of it.
/// </summary>
internal sealed class CacheKey : IEquatable<CacheKey>
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = false };

    private readonly int _hash;

    private CacheKey(byte[] bytes)
    {
        Bytes = bytes;
        var hash = new HashCode();
        hash.AddBytes(bytes);
        _hash = hash.ToHashCode();
    }

    /// <summary>True for the key of eth_blockNumber (whose forwarded answers feed the head tracker).</summary>
    public bool IsBlockNumber => Bytes.AsSpan().StartsWith("eth_blockNumber\0"u8);

    /// <summary>The method name, a 0 byte, the canonical params.</summary>
    public byte[] Bytes { get; }

    /// <summary>The key of <paramref name="method"/> with raw <paramref name="params"/>; false for params that are not valid JSON.</summary>
    public static bool TryCreate(string method, ReadOnlySpan<byte> @params, out CacheKey key)
    {
        key = null!;
        var buffer = new ArrayBufferWriter<byte>(64 + @params.Length);
        var written = System.Text.Encoding.UTF8.GetBytes(method, buffer.GetSpan(System.Text.Encoding.UTF8.GetMaxByteCount(method.Length) + 1));
        buffer.Advance(written);
        buffer.GetSpan(1)[0] = 0;
        buffer.Advance(1);
        if (!@params.IsEmpty && !TryCanonicalize(@params, buffer))
        {
            return false;
        }

        key = new CacheKey(buffer.WrittenSpan.ToArray());
        return true;
    }

    private static bool TryCanonicalize(ReadOnlySpan<byte> json, IBufferWriter<byte> output)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var writer = new Utf8JsonWriter(output, WriterOptions);
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartArray: writer.WriteStartArray(); break;
                    case JsonTokenType.EndArray: writer.WriteEndArray(); break;
                    case JsonTokenType.StartObject: writer.WriteStartObject(); break;
                    case JsonTokenType.EndObject: writer.WriteEndObject(); break;
                    case JsonTokenType.PropertyName: writer.WritePropertyName(reader.GetString()!); break;
                    case JsonTokenType.String: writer.WriteStringValue(LowerHex(reader.GetString()!)); break;
                    case JsonTokenType.Number: writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true); break;
                    case JsonTokenType.True: writer.WriteBooleanValue(true); break;
                    case JsonTokenType.False: writer.WriteBooleanValue(false); break;
                    case JsonTokenType.Null: writer.WriteNullValue(); break;
                    default: return false;
                }
            }

            writer.Flush();
            return reader.BytesConsumed == json.Length || json[(int)reader.BytesConsumed..].Trim(" \t\r\n"u8).IsEmpty;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>`0xABcd` → `0xabcd` (addresses, hashes and quantities compare case-blind); other strings as they are.</summary>
    private static string LowerHex(string value)
    {
        if (value.Length < 3 || value[0] != '0' || value[1] is not ('x' or 'X'))
        {
            return value;
        }

        var upper = false;
        for (var i = 2; i < value.Length; i++)
        {
            var c = value[i];
            if (!char.IsAsciiHexDigit(c))
            {
                return value;
            }

            upper |= c is >= 'A' and <= 'F';
        }

        return upper || value[1] == 'X' ? value.ToLowerInvariant() : value;
    }

    public bool Equals(CacheKey? other) => other is not null && _hash == other._hash && Bytes.AsSpan().SequenceEqual(other.Bytes);

    public override bool Equals(object? obj) => obj is CacheKey other && Equals(other);

    public override int GetHashCode() => _hash;
}
