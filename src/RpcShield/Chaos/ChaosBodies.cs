using System.Globalization;
using System.Text.Json;
using RpcShield.Upstreams.Health;
using RpcShield.JsonRpc;

namespace RpcShield.Chaos;

/// <summary>JSON bodies made by chaos: injected errors and stale-head rewrites (ids copied raw).</summary>
internal static class ChaosBodies
{
    /// <summary>Raw bytes of the top-level `id` of a single JSON-RPC request (empty when absent or unreadable).</summary>
    public static ReadOnlyMemory<byte> ReadId(ReadOnlyMemory<byte> request)
    {
        try
        {
            var reader = new Utf8JsonReader(request.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                if (isId)
                {
                    return request.Slice(start, (int)reader.BytesConsumed - start);
                }
            }
        }
        catch (JsonException)
        {
        }

        return default;
    }

    public static PooledBuffer Error(ReadOnlySpan<byte> rawId, int code, string message)
    {
        var buffer = new PooledBuffer(256);
        RpcResponseWriter.WriteError(buffer, rawId, code, message);
        return buffer;
    }

    /// <summary>Rewrites a hex-quantity answer (eth_blockNumber) to <paramref name="blocks"/> lower; null when not a hex result.</summary>
    public static PooledBuffer? StaleNumber(ReadOnlySpan<byte> answer, ReadOnlySpan<byte> rawId, int blocks)
    {
        if (!JsonRpc.HexQuantity.TryReadResult(answer, out var head))
        {
            return null;
        }

        var stale = Math.Max(0, head - blocks);
        var buffer = new PooledBuffer(128);
        RpcResponseWriter.WriteResult(buffer, rawId, w => w.WriteStringValue(Hex(stale)));
        return buffer;
    }

    /// <summary>Replaces every `"latest"` tag of a request with the given block number; null when there is none.</summary>
    public static byte[]? PinLatest(ReadOnlySpan<byte> request, long block)
    {
        ReadOnlySpan<byte> latest = "\"latest\""u8;
        if (request.IndexOf(latest) < 0)
        {
            return null;
        }

        var replacement = System.Text.Encoding.UTF8.GetBytes($"\"{Hex(block)}\"");
        var output = new List<byte>(request.Length + 16);
        var rest = request;
        int index;
        while ((index = rest.IndexOf(latest)) >= 0)
        {
            output.AddRange(rest[..index]);
            output.AddRange(replacement);
            rest = rest[(index + latest.Length)..];
        }

        output.AddRange(rest);
        return output.ToArray();
    }

    public static bool HasLatestTag(ReadOnlySpan<byte> request) => request.IndexOf("\"latest\""u8) >= 0;

    public static string Hex(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
}
