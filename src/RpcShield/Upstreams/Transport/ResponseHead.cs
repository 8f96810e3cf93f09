using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace RpcShield.Upstreams.Transport;

/// <summary>The status line and the few headers a JSON-RPC proxy acts on.</summary>
internal readonly record struct ResponseHead(int Status, long? ContentLength, bool Chunked, bool KeepAlive, TimeSpan? RetryAfter)
{
    /// <summary>The body's end is known without closing the connection.</summary>
    public bool HasFramedBody => Chunked || ContentLength is not null || Status is 204 or 304;

    /// <summary>Parses the head (status line + header lines, without the blank line).</summary>
    public static ResponseHead Parse(ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        var statusLine = lineEnd >= 0 ? head[..lineEnd] : head;
        // "HTTP/1.1 200 OK": version, space, three digits.
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || statusLine[8] != (byte)' '
            || !Utf8Parser.TryParse(statusLine.Slice(9, 3), out int status, out var used) || used != 3 || status < 100
            || (statusLine.Length > 12 && statusLine[12] != (byte)' '))
        {
            throw Http1Connection.Invalid("bad status line");
        }

        if (status == 101)
        {
            // Never asked for an upgrade: the connection would no longer speak HTTP.
            throw Http1Connection.Invalid("unexpected 101 Switching Protocols");
        }

        var keepAlive = statusLine[7] == (byte)'1';
        long? contentLength = null;
        var chunked = false;
        var otherCoding = false;
        TimeSpan? retryAfter = null;
        var rest = lineEnd >= 0 ? head[(lineEnd + 2)..] : [];
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = end >= 0 ? rest[..end] : rest;
            rest = end >= 0 ? rest[(end + 2)..] : [];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                throw Http1Connection.Invalid("bad header line");
            }

            var name = line[..colon];
            var value = Trimmed(line[(colon + 1)..]);
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out long length, out var digits) || digits != value.Length || length < 0
                    || (contentLength is { } earlier && earlier != length))
                {
                    throw Http1Connection.Invalid("bad or conflicting Content-Length");
                }

                contentLength = length;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                chunked = EndsWithToken(value, "chunked"u8);
                otherCoding = !chunked;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                keepAlive = ContainsToken(value, "keep-alive"u8) || (keepAlive && !ContainsToken(value, "close"u8));
            }
            else if (Ascii.EqualsIgnoreCase(name, "Retry-After"u8))
            {
                retryAfter = ParseRetryAfter(value);
            }
        }

        // A transfer coding that does not end in chunked runs to the end of the connection (RFC 9112 6.3).
        return otherCoding
            ? new ResponseHead(status, null, false, false, retryAfter)
            : new ResponseHead(status, chunked ? null : contentLength, chunked, keepAlive, retryAfter);
    }

    internal static ReadOnlySpan<byte> Trimmed(ReadOnlySpan<byte> value) => value[Ascii.Trim(value)];

    private static TimeSpan? ParseRetryAfter(ReadOnlySpan<byte> value)
    {
        if (Utf8Parser.TryParse(value, out int seconds, out var used) && used == value.Length && seconds >= 0)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return DateTimeOffset.TryParseExact(Encoding.ASCII.GetString(value), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            ? date - DateTimeOffset.UtcNow
            : null;
    }

    private static bool ContainsToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (var range in value.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(Trimmed(value[range]), token))
            {
                return true;
            }
        }

        return false;
    }

    private static bool EndsWithToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        var comma = value.LastIndexOf((byte)',');
        return Ascii.EqualsIgnoreCase(Trimmed(comma >= 0 ? value[(comma + 1)..] : value), token);
    }
}
