using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace RpcShield.Bench;

/// <summary>
/// Generated blocks (~600 bytes) for any number, written straight into the response buffer (no
/// string per block), for the memory scenario's million distinct old blocks: `latest` is
/// <see cref="Latest"/> (the eth_blockNumber answer), `finalized` 64 below it. Each block's hash is
/// its number (so a parent's hash is the number below): the chain never reorgs.
/// </summary>
internal static class SyntheticBlocks
{
    public const long Latest = 0x1234567;

    /// <summary>A whole answer: `{"jsonrpc":"2.0","id":…,"result":{block}}`.</summary>
    public static void WriteAnswer(IBufferWriter<byte> output, ReadOnlySpan<byte> id, long number)
    {
        Put(output, "{\"jsonrpc\":\"2.0\",\"id\":"u8);
        Put(output, id);
        Put(output, ",\"result\":{\"number\":\"0x"u8);
        Hex(output, number, "x");
        Put(output, "\",\"hash\":\"0x"u8);
        Hex(output, number, "x64");
        Put(output, "\",\"parentHash\":\"0x"u8);
        Hex(output, number - 1, "x64");
        Put(output, "\",\"miner\":\"0x"u8);
        Hex(output, number, "x40");
        Put(output, "\",\"stateRoot\":\"0x"u8);
        Hex(output, number * 7, "x64");
        Put(output, "\",\"transactionsRoot\":\"0x"u8);
        Hex(output, number * 11, "x64");
        Put(output, "\",\"receiptsRoot\":\"0x"u8);
        Hex(output, number * 13, "x64");
        Put(output, "\",\"gasLimit\":\"0x1c9c380\",\"gasUsed\":\"0x0\",\"timestamp\":\"0x"u8);
        Hex(output, number * 12, "x");
        Put(output, "\",\"extraData\":\"0x\",\"baseFeePerGas\":\"0x7\",\"transactions\":[],\"uncles\":[]}}"u8);
    }

    /// <summary>The block number a block parameter names (`latest`/`pending`, `finalized`/`safe`, or a hex number).</summary>
    public static long NumberOf(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            return Latest;
        }

        var tag = reader.ValueSpan;
        if (tag.SequenceEqual("finalized"u8) || tag.SequenceEqual("safe"u8))
        {
            return Latest - 64;
        }

        return tag.Length > 2 && long.TryParse(tag[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var number) ? number : Latest;
    }

    private static void Put(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    private static void Hex(IBufferWriter<byte> output, long value, string format)
    {
        var span = output.GetSpan(64);
        value.TryFormat(span, out var written, format, CultureInfo.InvariantCulture);
        output.Advance(written);
    }
}
