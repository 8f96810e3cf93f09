using System.Buffers;
using System.Text.Json;

namespace RpcShield.JsonRpc;

/// <summary>Writes RpcShield's own JSON-RPC responses (errors and local results) with the client's raw id.</summary>
internal static class RpcResponseWriter
{
    private static readonly byte[] NullId = "null"u8.ToArray();

    public static void WriteError(IBufferWriter<byte> output, ReadOnlySpan<byte> rawId, int code, string message, Action<Utf8JsonWriter>? writeData = null)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("jsonrpc"u8, "2.0"u8);
        writer.WritePropertyName("id"u8);
        writer.WriteRawValue(rawId.IsEmpty ? NullId : rawId, skipInputValidation: true);
        writer.WriteStartObject("error"u8);
        writer.WriteNumber("code"u8, code);
        writer.WriteString("message"u8, message);
        if (writeData is not null)
        {
            writer.WritePropertyName("data"u8);
            writeData(writer);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public static void WriteResult(IBufferWriter<byte> output, ReadOnlySpan<byte> rawId, Action<Utf8JsonWriter> writeResult)
    {
        using var writer = new Utf8JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("jsonrpc"u8, "2.0"u8);
        writer.WritePropertyName("id"u8);
        writer.WriteRawValue(rawId.IsEmpty ? NullId : rawId, skipInputValidation: true);
        writer.WritePropertyName("result"u8);
        writeResult(writer);
        writer.WriteEndObject();
    }

    public static byte[] ErrorBytes(ReadOnlySpan<byte> rawId, int code, string message, Action<Utf8JsonWriter>? writeData = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteError(buffer, rawId, code, message, writeData);
        return buffer.WrittenSpan.ToArray();
    }
}
