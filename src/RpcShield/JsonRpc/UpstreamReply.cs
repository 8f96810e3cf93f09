using System.Text.Json;

namespace RpcShield.JsonRpc;

/// <summary>What an upstream's JSON-RPC response says, read without materialising the result.</summary>
internal readonly record struct UpstreamReply(bool IsJsonRpc, bool HasError, int ErrorCode, string? ErrorMessage)
{
    public static readonly UpstreamReply NotJsonRpc = new(false, false, 0, null);

    /// <summary>
    /// Nesting allowed inside a node's answer. A callTracer result for a 1024-frame call stack nests
    /// about 2 levels per frame; the reader's depth stack costs one bit per level.
    /// </summary>
    internal const int MaxResponseDepth = 16 * 1024;

    /// <summary>Answers at least this large, known complete by their framing, are not walked past a structured result.</summary>
    internal const int WalkLimit = 64 * 1024;

    /// <summary>
    /// Inspects a single response object (result bytes are skipped, never copied). With
    /// <paramref name="framedComplete"/> (the transport read exactly the declared length or the
    /// final chunk) a large structured result is not walked token by token.
    /// </summary>
    public static UpstreamReply Inspect(ReadOnlySpan<byte> json, bool framedComplete = false)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = UpstreamReply.MaxResponseDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return NotJsonRpc;
            }

            var hasResult = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("error"u8))
                {
                    reader.Read();
                    return ReadError(ref reader);
                }

                var isResult = reader.ValueTextEquals("result"u8);
                reader.Read();
                if (isResult && framedComplete && json.Length >= WalkLimit && reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    // A large structured result (logs, blocks, traces: up to hundreds of MB) that
                    // arrived whole is passed on as bytes, not walked (measured ~0.3 ms per MB).
                    return EndsAnObject(json) ? new UpstreamReply(true, false, 0, null) : NotJsonRpc;
                }

                hasResult |= isResult;
                reader.Skip();
            }

            return hasResult ? new UpstreamReply(true, false, 0, null) : NotJsonRpc;
        }
        catch (JsonException)
        {
            return NotJsonRpc;
        }
    }

    private static bool EndsAnObject(ReadOnlySpan<byte> json)
    {
        var end = json.TrimEnd(" \t\r\n"u8);
        return !end.IsEmpty && end[^1] == (byte)'}';
    }

    private static UpstreamReply ReadError(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return new UpstreamReply(true, false, 0, null);
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return new UpstreamReply(true, true, 0, reader.TokenType == JsonTokenType.String ? reader.GetString() : null);
        }

        var (code, message) = ReadCodeAndMessage(ref reader);
        return new UpstreamReply(true, true, code, message);
    }

    /// <summary>Reads `code` and `message` of a JSON-RPC error object; the reader is on its StartObject.</summary>
    internal static (int Code, string? Message) ReadCodeAndMessage(ref Utf8JsonReader reader)
    {
        var code = 0;
        string? message = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("code"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number)
                {
                    reader.TryGetInt32(out code);
                }
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                message = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return (code, message);
    }
}
