using System.Text;
using RpcShield.JsonRpc;

namespace RpcShield.Features.Broadcast;

/// <summary>Builds a JSON-RPC success response with the client's raw id and a string result.</summary>
internal static class LocalResult
{
    public static PooledBuffer StringResult(ReadOnlyMemory<byte> rawId, string result)
    {
        var buffer = new PooledBuffer(64 + rawId.Length + result.Length);
        buffer.Write("{\"jsonrpc\":\"2.0\",\"id\":"u8);
        buffer.Write(rawId.IsEmpty ? "null"u8 : rawId.Span);
        buffer.Write(",\"result\":\""u8);
        Span<byte> text = stackalloc byte[Encoding.UTF8.GetMaxByteCount(result.Length)];
        var written = Encoding.UTF8.GetBytes(result, text);
        buffer.Write(text[..written]);
        buffer.Write("\"}"u8);
        return buffer;
    }
}
