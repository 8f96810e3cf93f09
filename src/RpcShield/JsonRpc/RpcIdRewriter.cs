using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace RpcShield.JsonRpc;

/// <summary>
/// Keeps ids exact whatever the node does with them. Nodes reject or rewrite ids they cannot
/// represent (anvil answers `-32600, id: null` to `1.5` or a 30-digit number) and answer nothing
/// to a notification (which would look like a dead node). Such items go upstream with a
/// synthetic string id; the client's raw id is spliced back into the answer. Ordinary ids
/// (short integers, plain strings, null) are forwarded untouched and cost nothing.
/// </summary>
internal static class RpcIdRewriter
{
    private static ReadOnlySpan<byte> SyntheticPrefix => "\"rpcshield-id-"u8;

    private static ReadOnlySpan<byte> UnsafeStringBytes => "\\<>&"u8;

    /// <summary>True when the id is absent (notification) or one a node might not echo byte for byte.</summary>
    public static bool NeedsRewrite(in RpcRequestItem item) => NeedsRewrite(item.Id.Span);

    /// <summary>True when the raw id is absent (notification) or one a node might not echo byte for byte.</summary>
    public static bool NeedsRewrite(ReadOnlySpan<byte> id)
    {
        if (id.IsEmpty)
        {
            return true;
        }

        if (id[0] == (byte)'"')
        {
            // Escapes, non-ASCII and HTML characters may be re-encoded by a node (Go escapes <, >, & even in raw ids).
            return id.ContainsAnyExceptInRange((byte)' ', (byte)'~') || id.IndexOfAny(UnsafeStringBytes) >= 0;
        }

        if (id.SequenceEqual("null"u8))
        {
            return false;
        }

        var digits = id[0] == (byte)'-' ? id[1..] : id;
        return digits.Length is 0 or > 15 || digits.ContainsAnyExceptInRange((byte)'0', (byte)'9') || (digits.Length > 1 && digits[0] == (byte)'0');
    }

    /// <summary>The same request with a synthetic string id (inserted for a notification).</summary>
    public static RpcRequestItem WithSyntheticId(in RpcRequestItem item, int index)
    {
        var raw = item.Raw.Span;
        Span<byte> number = stackalloc byte[16];
        System.Buffers.Text.Utf8Formatter.TryFormat(index, number, out var written);
        var synthetic = new byte[SyntheticPrefix.Length + written + 1];
        SyntheticPrefix.CopyTo(synthetic);
        number[..written].CopyTo(synthetic.AsSpan(SyntheticPrefix.Length));
        synthetic[^1] = (byte)'"';

        byte[] rewritten;
        int idStart;
        if (item.IsNotification)
        {
            // `{` + `"id":X,` + the rest: a notification always has members (at least `method`).
            ReadOnlySpan<byte> key = "\"id\":"u8;
            rewritten = new byte[raw.Length + key.Length + synthetic.Length + 1];
            rewritten[0] = raw[0];
            key.CopyTo(rewritten.AsSpan(1));
            idStart = 1 + key.Length;
            synthetic.CopyTo(rewritten.AsSpan(idStart));
            rewritten[idStart + synthetic.Length] = (byte)',';
            raw[1..].CopyTo(rewritten.AsSpan(idStart + synthetic.Length + 1));
        }
        else
        {
            idStart = OffsetIn(item.Raw, item.Id);
            rewritten = new byte[raw.Length - item.Id.Length + synthetic.Length];
            raw[..idStart].CopyTo(rewritten);
            synthetic.CopyTo(rewritten.AsSpan(idStart));
            raw[(idStart + item.Id.Length)..].CopyTo(rewritten.AsSpan(idStart + synthetic.Length));
        }

        var memory = rewritten.AsMemory();
        var @params = default(ReadOnlyMemory<byte>);
        if (!item.Params.IsEmpty)
        {
            var offset = OffsetIn(item.Raw, item.Params);
            offset += offset > idStart || item.IsNotification ? rewritten.Length - raw.Length : 0;
            @params = memory.Slice(offset, item.Params.Length);
        }

        return new RpcRequestItem(memory, memory.Slice(idStart, synthetic.Length), item.Method, @params);
    }

    /// <summary>
    /// The upstream answer with its top-level id replaced by <paramref name="clientId"/>. An answer
    /// that is not an object with an id is returned unchanged.
    /// </summary>
    public static ReadOnlyMemory<byte> RestoreId(ReadOnlyMemory<byte> response, ReadOnlySpan<byte> clientId)
    {
        if (!TryFindId(response.Span, out var start, out var length))
        {
            return response;
        }

        var span = response.Span;
        var result = new byte[span.Length - length + clientId.Length];
        span[..start].CopyTo(result);
        clientId.CopyTo(result.AsSpan(start));
        span[(start + length)..].CopyTo(result.AsSpan(start + clientId.Length));
        return result;
    }

    private static bool TryFindId(ReadOnlySpan<byte> json, out int start, out int length)
    {
        start = length = 0;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = UpstreamReply.MaxResponseDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals("id"u8);
                reader.Read();
                if (isId && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
                {
                    start = (int)reader.TokenStartIndex;
                    length = (int)(reader.BytesConsumed - reader.TokenStartIndex);
                    return true;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    private static int OffsetIn(ReadOnlyMemory<byte> outer, ReadOnlyMemory<byte> inner) =>
        (int)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(outer.Span), ref MemoryMarshal.GetReference(inner.Span));
}
