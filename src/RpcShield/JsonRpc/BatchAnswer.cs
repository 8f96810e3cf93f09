using System.Text.Json;

namespace RpcShield.JsonRpc;

/// <summary>
/// Finds each request's answer in a node's batch answer by its id (nodes may answer in any
/// order). Only ids a node echoes byte for byte are sent in a batch (<see cref="IsMatchableId"/>),
/// so the raw id bytes are compared, never parsed.
/// </summary>
public static class BatchAnswer
{
    /// <summary>
    /// True for an id that identifies one answer: present, not `null`, echoed unchanged (see
    /// <see cref="RpcIdRewriter"/>); not `-0`, which a node may echo as `0`.
    /// </summary>
    public static bool IsMatchableId(ReadOnlySpan<byte> id) =>
        !id.IsEmpty && !id.SequenceEqual("null"u8) && !id.SequenceEqual("-0"u8) && !RpcIdRewriter.NeedsRewrite(id);

    /// <summary>
    /// Fills <paramref name="answers"/> (parallel to <paramref name="ids"/>) with the range of each
    /// request's answer object; an unanswered request keeps a default (empty) range. False when
    /// <paramref name="json"/> is not an array of objects.
    /// </summary>
    public static bool Split(ReadOnlySpan<byte> json, ReadOnlySpan<ReadOnlyMemory<byte>> ids, Span<Range> answers)
    {
        answers.Clear();
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = UpstreamReply.MaxResponseDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                var start = (int)reader.TokenStartIndex;
                var id = ReadOnlySpan<byte>.Empty;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isId = reader.ValueTextEquals("id"u8);
                    reader.Read();
                    if (isId && reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                    {
                        // Strings: ValueSpan is the raw (still escaped) text between the quotes.
                        var quotes = reader.TokenType == JsonTokenType.String ? 2 : 0;
                        id = json.Slice((int)reader.TokenStartIndex, reader.ValueSpan.Length + quotes);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }

                var index = IndexOf(ids, id);
                if (index >= 0 && answers[index].Equals(default(Range)))
                {
                    answers[index] = start..(int)reader.BytesConsumed;
                }
            }

            return reader.TokenType == JsonTokenType.EndArray;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static int IndexOf(ReadOnlySpan<ReadOnlyMemory<byte>> ids, ReadOnlySpan<byte> id)
    {
        if (id.IsEmpty)
        {
            return -1;
        }

        for (var i = 0; i < ids.Length; i++)
        {
            if (ids[i].Span.SequenceEqual(id))
            {
                return i;
            }
        }

        return -1;
    }
}
