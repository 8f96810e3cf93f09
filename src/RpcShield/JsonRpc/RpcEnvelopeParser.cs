using System.Text;
using System.Text.Json;

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

    public static RpcEnvelope Parse(ReadOnlyMemory<byte> body, int maxBatchItems)
    {
        try
        {
            return ParseCore(body, maxBatchItems);
        }
        catch (JsonException)
        {
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
        var depth = reader.CurrentDepth;

        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                var idStart = (int)reader.TokenStartIndex;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                    problem = "Invalid request: id must be a string, number or null";
                    continue;
                }

                id = body[idStart..(int)(reader.TokenStartIndex + TokenLength(ref reader))];
            }
            else if (reader.ValueTextEquals("method"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    method = MethodNames.Get(ref reader);
                }
                else
                {
                    reader.Skip();
                    problem = "Invalid request: method must be a string";
                }
            }
            else if (reader.ValueTextEquals("jsonrpc"u8))
            {
                reader.Read();
                versionOk = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("2.0"u8);
                if (!versionOk)
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("params"u8))
            {
                reader.Read();
                var paramsStart = (int)reader.TokenStartIndex;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    problem = "Invalid request: params must be an array or an object";
                }

                @params = body[paramsStart..(int)(reader.TokenStartIndex + TokenLength(ref reader))];
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        var end = (int)reader.BytesConsumed;
        problem ??= !versionOk ? "Invalid request: jsonrpc must be \"2.0\""
            : method is null ? "Invalid request: method is required"
            : method.Length == 0 ? "Invalid request: method is empty"
            : null;
        if (problem is not null)
        {
            // The id of an invalid request is echoed only when it was itself valid JSON-RPC id material.
            invalid = new InvalidItem(id, problem);
            return default;
        }

        invalid = null;
        return new RpcRequestItem(body[start..end], id, method!, @params);
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
