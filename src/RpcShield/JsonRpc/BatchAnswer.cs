using System.Text.Json;
using RpcShield.Upstreams;

namespace RpcShield.JsonRpc;

/// <summary>
/// Reads a node's answer to a batch and finds each request's answer in it by its id (nodes may
/// answer in any order). Only ids a node echoes byte for byte are sent in a batch
/// (<see cref="IsMatchableId"/>), so the raw id bytes are compared, never parsed.
/// </summary>
internal static class BatchAnswer
{
    /// <summary>
    /// True for an id that identifies one answer: present, not `null`, echoed unchanged (see
    /// <see cref="RpcIdRewriter"/>); not `-0`, which a node may echo as `0`.
    /// </summary>
    public static bool IsMatchableId(ReadOnlySpan<byte> id) =>
        !id.IsEmpty && !id.SequenceEqual("null"u8) && !id.SequenceEqual("-0"u8) && !RpcIdRewriter.NeedsRewrite(id);

    /// <summary>
    /// Reads a node's answer to a batch once: its <paramref name="items"/> (each answer object, its
    /// raw id and what it says), and what it says as one attempt (for health, the breaker, the
    /// budget): throttled when any item is (-32005), answered when any item was answered, else the
    /// first item's error (a node failing every item is failing), else not a JSON-RPC answer (empty
    /// or malformed: <paramref name="items"/> null). <paramref name="refused"/>: not an array at all
    /// (an error object, HTML, …) and not throttling, so the node does not take this batch.
    /// </summary>
    public static UpstreamReply Summarize(ReadOnlySpan<byte> json, out bool refused, out List<BatchItem>? items)
    {
        items = null;
        var start = json.TrimStart(" \t\r\n"u8);
        if (start.IsEmpty)
        {
            // Nothing at all is a broken answer, not a node declining batches.
            refused = false;
            return UpstreamReply.NotJsonRpc;
        }

        if (start[0] != (byte)'[')
        {
            var single = UpstreamReply.Inspect(json);
            refused = FailureClassifier.ClassifyReply(single) != AttemptKind.Throttled;
            return single;
        }

        refused = false;
        var elements = new Elements(json);
        var read = new List<BatchItem>();
        UpstreamReply? throttled = null;
        UpstreamReply? firstError = null;
        var answered = false;
        while (elements.MoveNext(out var element, out var id))
        {
            var reply = UpstreamReply.Inspect(json[element], framedComplete: true);
            var kind = FailureClassifier.ClassifyReply(reply);
            read.Add(new BatchItem(element, id, reply, kind));
            switch (kind)
            {
                case AttemptKind.Throttled:
                    throttled ??= reply;
                    break;
                case AttemptKind.Answered or AttemptKind.Unsupported:
                    answered = true;
                    break;
                default:
                    firstError ??= reply;
                    break;
            }
        }

        if (elements.Failed || read.Count == 0)
        {
            return UpstreamReply.NotJsonRpc;
        }

        items = read;
        return throttled ?? (answered ? new UpstreamReply(true, false, 0, null) : firstError!.Value);
    }

    /// <summary>The first item not yet <paramref name="taken"/> whose raw id is <paramref name="id"/>; -1 when the node left it unanswered.</summary>
    public static int Find(ReadOnlySpan<byte> json, IReadOnlyList<BatchItem> items, ReadOnlySpan<byte> id, Span<bool> taken)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (!taken[i] && !items[i].Id.Equals(default(Range)) && json[items[i].Id].SequenceEqual(id))
            {
                taken[i] = true;
                return i;
            }
        }

        return -1;
    }

    /// <summary>Walks the objects of a batch answer: each one's range and its raw id's (default when absent or not a string/number).</summary>
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

        public bool MoveNext(out Range element, out Range id)
        {
            element = default;
            id = default;
            if (Failed || !Read())
            {
                return false;
            }

            if (_reader.TokenType == JsonTokenType.EndArray)
            {
                // Nothing but whitespace may follow the array.
                Failed = !_json[(int)_reader.BytesConsumed..].Trim(" \t\r\n"u8).IsEmpty;
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

                if (isId)
                {
                    // The last `id` member counts (as for any JSON reader); a null/object one matches nothing.
                    id = default;
                }

                if (isId && _reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
                {
                    // Strings: ValueSpan is the raw (still escaped) text between the quotes.
                    var quotes = _reader.TokenType == JsonTokenType.String ? 2 : 0;
                    var idStart = (int)_reader.TokenStartIndex;
                    id = idStart..(idStart + _reader.ValueSpan.Length + quotes);
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
}

/// <summary>One answer object of a batch answer: its range, its raw id's range, what it says and how that classifies.</summary>
internal readonly record struct BatchItem(Range Answer, Range Id, UpstreamReply Reply, AttemptKind Kind);
