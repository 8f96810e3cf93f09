using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using RpcShield.JsonRpc;

namespace RpcShield.Tests.JsonRpc;

/// <summary>
/// Property-based fuzz of the envelope parser (CsCheck): structured envelopes with hostile values,
/// mutations of them, and raw bytes. Whatever comes in, no exception escapes, an unparseable body
/// gets a JSON-RPC error of the documented codes, and every item the parser accepts is clean JSON
/// (Unicode strings, one of each envelope key) with a non-empty method. Bounded in time for CI;
/// RPCSHIELD_FUZZ_SECONDS lengthens a run by hand.
/// </summary>
public sealed class RpcEnvelopeFuzzTests
{
    private const int MaxBatch = 8;
    private static readonly int[] EnvelopeCodes = [RpcErrorCodes.ParseError, RpcErrorCodes.InvalidRequest, RpcErrorCodes.TooLarge];
    private static readonly string[] EnvelopeKeys = ["jsonrpc", "id", "method", "params"];

    private static readonly Gen<string> Value = Gen.OneOf(
        "1", "-0", "-0.0", "0", "1.5e3", "1e999", "-", "123456789012345678901234567890", "null", "true", "false", "[]", "{}",
        "\"2.0\"", "\"1.0\"", "\"eth_chainId\"", "\"eth_call\"", "\"\"", "\"0x1\"", "\"\\ud800\"", "\"\\udc00\\ud800\"", "\"\\ud83d\\ude00\"",
        "\"a\\\"b\"", "\"\\u0000\"", "\"\\x\"", "\"\\u12\"", "\"caf\u00e9\"", "\"\u2028\"", "[1,[2,{\"a\":\"\\ud800\"}]]", "{\"to\":\"0x1\"}",
        "[\"latest\"]", "[{\"a\":[]},\"pending\"]", "\"\\/\\b\\f\\n\\r\\t\"", "\"\\uD83D\\uDE00\"");

    private static readonly Gen<string> Key = Gen.OneOf("jsonrpc", "id", "method", "params", "extra", "met\\u0068od", "\\ud800", "Method", "");

    private static readonly Gen<string> Member = Gen.Select(Key, Value, (key, value) => $"\"{key}\":{value}");

    private static readonly Gen<string> Request = Gen.Frequency(
        (3, Member.Array[0, 6].Select(members => "{" + string.Join(",", members) + "}")),
        (2, Gen.Select(Value, Gen.OneOf("\"eth_chainId\"", "\"\\ud800\"", "\"eth_call\""), Value,
            (id, method, @params) => $$"""{"jsonrpc":"2.0","id":{{id}},"method":{{method}},"params":{{@params}}}""")));

    private static readonly Gen<string> Envelope = Gen.Frequency(
        (3, Request),
        (2, Request.Array[0, MaxBatch + 2].Select(items => "[" + string.Join(",", items) + "]")),
        (1, Value));

    private static readonly Gen<string> Fragment = Gen.OneOf(
        "\\ud800", "\\u", "\\", "\"", "{", "}", "[", "]", ",", ":", "-0", "\u0000", "\ufeff", "\"method\":\"x\",", "\"id\":2,", "//", "/*", " ", new string('[', 200));

    private static readonly Gen<byte[]> Mutated = Gen.Select(Envelope, Gen.Int[0, 4096], Fragment, Gen.Int[0, 3], (text, at, fragment, how) =>
    {
        var position = text.Length == 0 ? 0 : at % (text.Length + 1);
        var mutated = how switch
        {
            0 => text.Insert(position, fragment),
            1 => text.Remove(position, Math.Min(fragment.Length, text.Length - position)),
            2 => text[..position],
            _ => text + text[..position],
        };
        return Encoding.UTF8.GetBytes(mutated);
    });

    private static readonly Gen<byte[]> RawBytes = Gen.OneOf(
        Gen.Byte.Array[0, 64],
        Gen.Select(Envelope, Gen.Int[0, 4096], Gen.OneOf<byte[]>([0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]), (text, at, bad) =>
        {
            var bytes = Encoding.UTF8.GetBytes(text).ToList();
            bytes.InsertRange(bytes.Count == 0 ? 0 : at % (bytes.Count + 1), bad);
            return bytes.ToArray();
        }));

    private static readonly Gen<byte[]> Input = Gen.Frequency(
        (4, Envelope.Select(Encoding.UTF8.GetBytes)),
        (4, Mutated),
        (2, RawBytes));

    private static int Seconds =>
        int.TryParse(Environment.GetEnvironmentVariable("RPCSHIELD_FUZZ_SECONDS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 10;

    [Fact]
    public void No_input_makes_the_parser_throw_and_every_input_gets_a_json_rpc_answer() =>
        Input.Sample(AssertAnswered, time: Seconds, threads: 1, print: bytes => Convert.ToHexString(bytes) + " " + Encoding.UTF8.GetString(bytes));

    [Fact]
    public void The_known_attacks_hold_as_fixed_cases()
    {
        foreach (var body in (string[])[
            """{"jsonrpc":"2.0","id":1,"method":"\ud800"}""",
            """[{"jsonrpc":"2.0","id":1,"method":"\ud800"},{"jsonrpc":"2.0","id":2,"method":"eth_chainId"}]""",
            """{"jsonrpc":"2.0","id":1,"method":"debug_traceTransaction","method":"eth_gasPrice"}""",
            """{"jsonrpc":"2.0","id":-0,"method":"eth_chainId"}""",
        ])
        {
            AssertAnswered(Encoding.UTF8.GetBytes(body));
        }
    }

    private static void AssertAnswered(byte[] input)
    {
        var envelope = RpcEnvelopeParser.Parse(input, MaxBatch);
        if (envelope.Kind == EnvelopeKind.Invalid)
        {
            Assert.Contains(envelope.ErrorCode, EnvelopeCodes);
            using var reply = RpcProcessor.InvalidEnvelope(envelope);
            var written = new ArrayBufferWriter<byte>();
            reply.CopyTo(written);
            using var answer = JsonDocument.Parse(written.WrittenMemory);
            Assert.Equal(envelope.ErrorCode, answer.RootElement.GetProperty("error").GetProperty("code").GetInt32());
            return;
        }

        Assert.NotEmpty(envelope.Items);
        Assert.True(envelope.Kind == EnvelopeKind.Batch || envelope.Items.Length == 1);
        for (var i = 0; i < envelope.Items.Length; i++)
        {
            if (envelope.Invalid?[i] is { } invalid)
            {
                // Answered in place with -32600 and the id when it is clean JSON.
                using var error = JsonDocument.Parse(RpcResponseWriter.ErrorBytes(invalid.Id.Span, RpcErrorCodes.InvalidRequest, invalid.Message));
                Assert.False(string.IsNullOrEmpty(invalid.Message));
                continue;
            }

            var item = envelope.Items[i];
            Assert.False(string.IsNullOrEmpty(item.Method));
            using var document = JsonDocument.Parse(item.Raw);
            var keys = document.RootElement.EnumerateObject().Select(p => p.Name).Where(EnvelopeKeys.Contains).ToList();
            Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
            Assert.Equal(item.Method, document.RootElement.GetProperty("method").GetString());
            AssertUnicode(document.RootElement);
            if (!item.Id.IsEmpty)
            {
                using var id = JsonDocument.Parse(item.Id);
            }
        }
    }

    /// <summary>Every string decodes (GetString throws on a lone surrogate): what is forwarded is Unicode text.</summary>
    private static void AssertUnicode(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                _ = element.GetString();
                break;
            case JsonValueKind.Array:
                foreach (var child in element.EnumerateArray())
                {
                    AssertUnicode(child);
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    AssertUnicode(property.Value);
                }

                break;
        }
    }
}
