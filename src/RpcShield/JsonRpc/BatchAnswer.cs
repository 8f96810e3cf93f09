using System.Text.Json;
using RpcShield.Upstreams;

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
        var elements = new Elements(json);
        while (elements.MoveNext(out var element, out var id))
        {
            var index = IndexOf(ids, id);
            if (index >= 0 && answers[index].Equals(default(Range)))
            {
                answers[index] = element;
            }
        }

        return !elements.Failed;
    }

    /// <summary>
    /// What a node's answer to a batch says as one attempt (for health, the breaker, the budget):
    /// throttled when any item is (-32005), answered when any item was answered, else the first
    /// item's error (a node failing every item is failing), else not a JSON-RPC answer (empty or
    /// malformed). <paramref name="refused"/>: not an array at all (an error object, HTML, …),
    /// so the node does not take this batch; a -32005 object is throttling, not a refusal.
    /// </summary>
    public static UpstreamReply Summarize(ReadOnlySpan<byte> json, out bool refused)
    {
        var start = json.TrimStart(" \t\r\n"u8);
        if (start.IsEmpty || start[0] != (byte)'[')
        {
            var single = UpstreamReply.Inspect(json);
            refused = FailureClassifier.ClassifyReply(single) != AttemptKind.Throttled;
            return single;
        }

        refused = false;
        var elements = new Elements(json);
        UpstreamReply? firstError = null;
        var answered = false;
        while (elements.MoveNext(out var element, out _))
        {
            var reply = UpstreamReply.Inspect(json[element], framedComplete: true);
            switch (FailureClassifier.ClassifyReply(reply))
            {
                case AttemptKind.Throttled:
                    return reply;
                case AttemptKind.Answered or AttemptKind.Unsupported:
                    answered = true;
                    break;
                default:
                    firstError ??= reply;
                    break;
            }
        }

        return elements.Failed ? UpstreamReply.NotJsonRpc
            : answered ? new UpstreamReply(true, false, 0, null)
            : firstError ?? UpstreamReply.NotJsonRpc;
    }

    /// <summary>Walks the objects of a batch answer: each one's range and raw id (empty when absent or not a string/number).</summary>
    private ref struct Elements
    {
        private readonly ReadOnlySpan<byte> _json;
        private Utf8JsonReader _reader;

        public Elements(ReadOnlySpan<byte> json)
        {
            _json = json;
            _reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = UpstreamReply.MaxResponseDepth });
            Failed = !Read() || _reader.TokenType != JsonTokenType.StartArray;
        }

        /// <summary>True when the answer is not an array of objects (or not well-formed JSON).</summary>
        public bool Failed { get; private set; }

        public bool MoveNext(out Range element, out ReadOnlySpan<byte> id)
        {
            element = default;
            id = default;
            if (Failed || !Read() || _reader.TokenType == JsonTokenType.EndArray)
            {
                return false;
            }

            if (_reader.TokenType != JsonTokenType.StartObject)
            {
                Failed = true;
                return false;
            }

            var start = (int)_reader.TokenStartIndex;
            while (Read() && _reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = _reader.ValueTextEquals("id"u8);
                if (!Read())
                {
                    return false;
                }

                if (isId && _reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                {
                    // Strings: ValueSpan is the raw (still escaped) text between the quotes.
                    var quotes = _reader.TokenType == JsonTokenType.String ? 2 : 0;
                    id = _json.Slice((int)_reader.TokenStartIndex, _reader.ValueSpan.Length + quotes);
                }
                else if (!Skip())
                {
                    return false;
                }
            }

            element = start..(int)_reader.BytesConsumed;
            return !Failed;
        }

        private bool Read()
        {
            try
            {
                return _reader.Read() || Fail();
            }
            catch (JsonException)
            {
                return Fail();
            }
        }

        private bool Skip()
        {
            try
            {
                _reader.Skip();
                return true;
            }
            catch (JsonException)
            {
                return Fail();
            }
        }

        private bool Fail()
        {
            Failed = true;
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
