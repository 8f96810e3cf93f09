using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace RpcShield.JsonRpc;

internal enum EnvelopeKind
{
    Single,
    Batch,
    Invalid,
}

/// <summary>Result of reading the envelope: items in client order, each valid or invalid.</summary>
internal sealed class RpcEnvelope
{
    public EnvelopeKind Kind { get; init; }

    /// <summary>For Invalid: the error to answer with (id null).</summary>
    public int ErrorCode { get; init; }

    public string? ErrorMessage { get; init; }

    public RpcRequestItem[] Items { get; init; } = [];

    /// <summary>Parallel to <see cref="Items"/>: non-null where the slot is invalid.</summary>
    public InvalidItem?[]? Invalid { get; init; }

    public static RpcEnvelope Error(int code, string message) => new() { Kind = EnvelopeKind.Invalid, ErrorCode = code, ErrorMessage = message };
}

/// <summary>
/// Reads `id`, `method` and the extent of each request with <see cref="Utf8JsonReader"/>, skipping
/// over params. The reader's depth limit bounds nesting, so deep garbage fails fast.
/// </summary>
internal static class RpcEnvelopeParser
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 128, CommentHandling = JsonCommentHandling.Disallow };

    private const string NotText = "Invalid request: a string is not Unicode text (invalid UTF-8 or a lone surrogate escape)";

    public static RpcEnvelope Parse(ReadOnlyMemory<byte> body, int maxBatchItems)
    {
        try
        {
            return ParseCore(body, maxBatchItems);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: text the reader accepts but cannot decode (kept as a
            // safety net; lone surrogates are caught per item before anything decodes them).
            return RpcEnvelope.Error(RpcErrorCodes.ParseError, "Parse error: malformed JSON");
        }
    }

    private static RpcEnvelope ParseCore(ReadOnlyMemory<byte> body, int maxBatchItems)
    {
        var reader = new Utf8JsonReader(body.Span, ReaderOptions);
        if (!reader.Read())
        {
            return RpcEnvelope.Error(RpcErrorCodes.ParseError, "Parse error: empty body");
        }

        if (reader.TokenType == JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex;
            var item = ReadObject(ref reader, body, start, out var invalid);
            EnsureEnd(ref reader);
            if (invalid is { Message: NotText })
            {
                // A lone request that is not Unicode text is not parseable JSON-RPC (a batch answers it per item).
                return RpcEnvelope.Error(RpcErrorCodes.ParseError, "Parse error: a string is not Unicode text (invalid UTF-8 or a lone surrogate escape)");
            }

            return invalid is { } bad
                ? new RpcEnvelope { Kind = EnvelopeKind.Single, Items = [default], Invalid = [bad] }
                : new RpcEnvelope { Kind = EnvelopeKind.Single, Items = [item] };
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            EnsureEnd(ref reader);
            return RpcEnvelope.Error(RpcErrorCodes.InvalidRequest, "Invalid request: expected an object or a batch array");
        }

        // Parsing is synchronous: a per-thread scratch list collects the items (no growth copies per batch).
        var items = t_items ??= new List<RpcRequestItem>(64);
        try
        {
            return ParseBatch(ref reader, body, maxBatchItems, items);
        }
        finally
        {
            items.Clear();
            if (items.Capacity > 1024)
            {
                // One huge batch does not pin its list on the thread for good.
                t_items = null;
            }
        }
    }

    [ThreadStatic]
    private static List<RpcRequestItem>? t_items;

    private static RpcEnvelope ParseBatch(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body, int maxBatchItems, List<RpcRequestItem> items)
    {
        List<InvalidItem?>? invalids = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (items.Count >= maxBatchItems)
            {
                return RpcEnvelope.Error(RpcErrorCodes.TooLarge, $"Batch too large: more than {maxBatchItems} items");
            }

            InvalidItem? invalid;
            RpcRequestItem item = default;
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                item = ReadObject(ref reader, body, (int)reader.TokenStartIndex, out invalid);
            }
            else
            {
                reader.Skip();
                invalid = new InvalidItem(default, "Invalid request: batch item is not an object");
            }

            if (invalid is not null)
            {
                invalids ??= [.. new InvalidItem?[items.Count]];
            }

            invalids?.Add(invalid);
            items.Add(item);
        }

        EnsureEnd(ref reader);
        if (items.Count == 0)
        {
            return RpcEnvelope.Error(RpcErrorCodes.InvalidRequest, "Invalid request: empty batch");
        }

        return new RpcEnvelope { Kind = EnvelopeKind.Batch, Items = [.. items], Invalid = invalids?.ToArray() };
    }

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("trailing data");
        }
    }

    private static RpcRequestItem ReadObject(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body, int start, out InvalidItem? invalid)
    {
        ReadOnlyMemory<byte> id = default;
        ReadOnlyMemory<byte> @params = default;
        string? method = null;
        var versionOk = false;
        var problem = (string?)null;
        var seen = EnvelopeKeys.None;
        var text = true;
        var depth = reader.CurrentDepth;

        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            text &= IsText(ref reader);
            var key = reader.ValueTextEquals("id"u8) ? EnvelopeKeys.Id
                : reader.ValueTextEquals("method"u8) ? EnvelopeKeys.Method
                : reader.ValueTextEquals("jsonrpc"u8) ? EnvelopeKeys.JsonRpc
                : reader.ValueTextEquals("params"u8) ? EnvelopeKeys.Params
                : EnvelopeKeys.None;
            var duplicate = (seen & key) != 0;
            if (duplicate)
            {
                // A node that reads the first of two `method` keys would run what routing and deny rules never saw.
                problem ??= DuplicateKey(key);
            }

            seen |= key;
            reader.Read();
            if (key == EnvelopeKeys.Id && duplicate)
            {
                // Which of two ids to echo is ambiguous: the error goes out with id null.
                text &= SkipText(ref reader);
                id = default;
            }
            else if (key == EnvelopeKeys.Id)
            {
                var idStart = (int)reader.TokenStartIndex;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    text &= SkipText(ref reader);
                    problem = "Invalid request: id must be a string, number or null";
                    continue;
                }

                if (!IsText(ref reader))
                {
                    // Never echoed: the reply to it is answered with id null.
                    text = false;
                    continue;
                }

                id = body[idStart..(int)(reader.TokenStartIndex + TokenLength(ref reader))];
            }
            else if (key == EnvelopeKeys.Method)
            {
                if (reader.TokenType == JsonTokenType.String)
                {
                    if (IsText(ref reader))
                    {
                        method = MethodNames.Get(ref reader);
                    }
                    else
                    {
                        text = false;
                    }
                }
                else
                {
                    text &= SkipText(ref reader);
                    problem = "Invalid request: method must be a string";
                }
            }
            else if (key == EnvelopeKeys.JsonRpc)
            {
                versionOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("2.0"u8);
                if (!versionOk)
                {
                    text &= SkipText(ref reader);
                }
            }
            else if (key == EnvelopeKeys.Params)
            {
                var paramsStart = (int)reader.TokenStartIndex;
                if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray or JsonTokenType.Null))
                {
                    problem = "Invalid request: params must be an array or an object";
                }

                text &= SkipText(ref reader);
                @params = body[paramsStart..(int)(reader.TokenStartIndex + TokenLength(ref reader))];
            }
            else
            {
                text &= SkipText(ref reader);
            }
        }

        var end = (int)reader.BytesConsumed;
        problem = !text ? NotText
            : problem ?? (!versionOk ? "Invalid request: jsonrpc must be \"2.0\""
            : method is null ? "Invalid request: method is required"
            : method.Length == 0 ? "Invalid request: method is empty"
            : null);
        if (problem is not null)
        {
            // The id of an invalid request is echoed only when it was itself valid JSON-RPC id material.
            invalid = new InvalidItem(id, problem);
            return default;
        }

        invalid = null;
        return new RpcRequestItem(body[start..end], id, method!, @params);
    }

    /// <summary>Skips the current value; false when a string in it is not Unicode text (a lone surrogate escape).</summary>
    private static bool SkipText(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return IsText(ref reader);
        }

        var depth = reader.CurrentDepth;
        var text = true;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            text &= IsText(ref reader);
        }

        return text;
    }

    /// <summary>
    /// False for a string or property name that is not Unicode text: invalid UTF-8 (the reader does
    /// not check string contents) or escapes that leave a lone UTF-16 surrogate.
    /// </summary>
    private static bool IsText(ref Utf8JsonReader reader) =>
        reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName)
        || (Utf8.IsValid(reader.ValueSpan) && (!reader.ValueIsEscaped || JsonEscapes.AreWellFormed(reader.ValueSpan)));

    private static string DuplicateKey(EnvelopeKeys key) => key switch
    {
        EnvelopeKeys.Id => "Invalid request: duplicate key \"id\"",
        EnvelopeKeys.Method => "Invalid request: duplicate key \"method\"",
        EnvelopeKeys.JsonRpc => "Invalid request: duplicate key \"jsonrpc\"",
        _ => "Invalid request: duplicate key \"params\"",
    };

    [Flags]
    private enum EnvelopeKeys
    {
        None = 0,
        Id = 1,
        Method = 2,
        JsonRpc = 4,
        Params = 8,
    }

    /// <summary>Length of the current token in the source (strings include their quotes).</summary>
    private static int TokenLength(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.EndObject or JsonTokenType.EndArray => 1,
        _ => (int)(reader.BytesConsumed - reader.TokenStartIndex),
    };
}

/// <summary>
/// Interns method names so the hot path does not allocate a string per request for known methods.
/// Unknown names are allocated (and bounded in metrics elsewhere).
/// </summary>
internal static class MethodNames
{
    private static readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Known = BuildKnown();

    public static string Get(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > 128)
        {
            return reader.GetString()!;
        }

        Span<char> chars = stackalloc char[128];
        var count = Encoding.UTF8.GetChars(reader.ValueSpan, chars);
        return Known.TryGetValue(chars[..count], out var known) ? known : new string(chars[..count]);
    }

    private static Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> BuildKnown()
    {
        var dictionary = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in KnownMethods.All)
        {
            dictionary[name] = name;
        }

        return dictionary.GetAlternateLookup<ReadOnlySpan<char>>();
    }
}
