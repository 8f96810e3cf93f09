using System.Text;
using System.Text.Json;

namespace RpcShield.Features.Fanout;

/// <summary>
/// Classifies a builder's HTTP answer by status and body. Builders do not agree on an error shape:
/// Flashbots answers signature problems with HTTP 403 and `{"error":"..."}`, others use JSON-RPC
/// errors (-32600 "signature is required", -32025), a `jsonerror` key, or an HTML 502 page from a
/// simulator. A JSON-RPC error object is never assumed.
/// </summary>
internal static class BuilderErrorClassifier
{
    private const int MaxReason = 120;

    public static (BuilderOutcomeKind Kind, string Reason) Classify(int statusCode, ReadOnlySpan<byte> body)
    {
        var (shape, code, message) = Inspect(body);
        if (statusCode == 429)
        {
            return (BuilderOutcomeKind.Throttled, WithMessage("http_429", message));
        }

        if (statusCode is < 200 or >= 300)
        {
            var prefix = $"http_{statusCode}";
            return shape == BodyShape.Html
                ? (BuilderOutcomeKind.Error, prefix + " html")
                : (BuilderOutcomeKind.Error, WithMessage(code != 0 ? $"{prefix} {code}" : prefix, message));
        }

        switch (shape)
        {
            case BodyShape.Result:
                return (BuilderOutcomeKind.Ok, "ok");
            case BodyShape.Error:
                var reason = WithMessage(code != 0 ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : "error", message);
                return IsRateLimit(code, message) ? (BuilderOutcomeKind.Throttled, reason) : (BuilderOutcomeKind.Error, reason);
            case BodyShape.Html:
                return (BuilderOutcomeKind.Error, "invalid_response html");
            case BodyShape.Empty:
                return (BuilderOutcomeKind.Error, "empty_response");
            default:
                return (BuilderOutcomeKind.Error, "invalid_response");
        }
    }

    /// <summary>`result.bundleHash` of an accepted `{"result":{"bundleHash":"0x…"}}` answer, else null.</summary>
    public static string? ReadBundleHash(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isResult = reader.ValueTextEquals("result"u8);
                reader.Read();
                if (!isResult || reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isHash = reader.ValueTextEquals("bundleHash"u8);
                    reader.Read();
                    if (isHash)
                    {
                        return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }

                    reader.Skip();
                }

                return null;
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    private static bool IsRateLimit(int code, string? message) =>
        code == -32005
        || (message is not null && (message.Contains("rate limit", StringComparison.OrdinalIgnoreCase) || message.Contains("too many requests", StringComparison.OrdinalIgnoreCase)));

    private static string WithMessage(string prefix, string? message)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            return prefix;
        }

        var text = prefix + " " + message.Trim();
        return text.Length <= MaxReason ? text : text[..MaxReason];
    }

    private enum BodyShape
    {
        Empty,
        Result,
        Error,
        Html,
        Other,
    }

    /// <summary>Reads `result` / `error` (object or string) / `jsonerror` without materialising the result.</summary>
    private static (BodyShape Shape, int Code, string? Message) Inspect(ReadOnlySpan<byte> body)
    {
        var trimmed = body.Trim(" \t\r\n"u8);
        if (trimmed.IsEmpty)
        {
            return (BodyShape.Empty, 0, null);
        }

        if (trimmed[0] == (byte)'<')
        {
            return (BodyShape.Html, 0, null);
        }

        try
        {
            var reader = new Utf8JsonReader(trimmed, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return (BodyShape.Other, 0, trimmed.Length <= MaxReason ? Encoding.UTF8.GetString(trimmed) : null);
            }

            var hasResult = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("error"u8) || reader.ValueTextEquals("jsonerror"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        continue;
                    }

                    var (code, message) = ReadError(ref reader);
                    return (BodyShape.Error, code, message);
                }

                hasResult |= reader.ValueTextEquals("result"u8);
                reader.Read();
                reader.Skip();
            }

            return hasResult ? (BodyShape.Result, 0, null) : (BodyShape.Other, 0, null);
        }
        catch (JsonException)
        {
            return (BodyShape.Other, 0, null);
        }
    }

    private static (int Code, string? Message) ReadError(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return (0, reader.GetString());
            case JsonTokenType.Number:
                return (reader.TryGetInt32(out var bare) ? bare : 0, null);
            case JsonTokenType.StartObject:
                return JsonRpc.UpstreamReply.ReadCodeAndMessage(ref reader);
            default:
                reader.Skip();
                return (0, null);
        }
    }
}
