using System.Text;
using RpcShield.JsonRpc;

namespace RpcShield.Tests.JsonRpc;

public sealed class RpcEnvelopeParserTests
{
    private static RpcEnvelope Parse(string json, int maxBatch = 100) => RpcEnvelopeParser.Parse(Encoding.UTF8.GetBytes(json), maxBatch);

    private static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    [Fact]
    public void A_single_request_keeps_raw_bytes_id_method_and_params()
    {
        const string body = """  {"jsonrpc":"2.0","id":"a\"b","method":"eth_call","params":[{"to":"0x1"},"latest"]}  """;
        var envelope = Parse(body);
        Assert.Equal(EnvelopeKind.Single, envelope.Kind);
        var item = Assert.Single(envelope.Items);
        Assert.Equal(body.Trim(), Text(item.Raw));
        Assert.Equal("\"a\\\"b\"", Text(item.Id));
        Assert.Equal("eth_call", item.Method);
        Assert.Equal("""[{"to":"0x1"},"latest"]""", Text(item.Params));
        Assert.False(item.IsNotification);
        Assert.Null(envelope.Invalid);
    }

    [Theory]
    [InlineData("1", "1")]
    [InlineData("-12", "-12")]
    [InlineData("1.5e3", "1.5e3")]
    [InlineData("123456789012345678901234567890", "123456789012345678901234567890")]
    [InlineData("null", "null")]
    [InlineData("\"x\"", "\"x\"")]
    public void Ids_are_kept_as_raw_json(string id, string expected)
    {
        var item = Parse($$"""{"id":{{id}},"jsonrpc":"2.0","method":"m"}""").Items[0];
        Assert.Equal(expected, Text(item.Id));
    }

    [Fact]
    public void A_missing_id_is_a_notification_and_absent_params_are_empty()
    {
        var item = Parse("""{"jsonrpc":"2.0","method":"eth_blockNumber"}""").Items[0];
        Assert.True(item.IsNotification);
        Assert.True(item.Params.IsEmpty);
    }

    [Fact]
    public void A_batch_keeps_client_order_and_marks_invalid_slots()
    {
        var envelope = Parse("""[{"jsonrpc":"2.0","id":1,"method":"a"}, 7, {"jsonrpc":"2.0","id":3}, {"jsonrpc":"2.0","id":4,"method":"d"}]""");
        Assert.Equal(EnvelopeKind.Batch, envelope.Kind);
        Assert.Equal(4, envelope.Items.Length);
        Assert.Equal("a", envelope.Items[0].Method);
        Assert.Equal("d", envelope.Items[3].Method);
        Assert.NotNull(envelope.Invalid);
        Assert.Null(envelope.Invalid![0]);
        Assert.NotNull(envelope.Invalid[1]);
        Assert.Equal("3", Text(envelope.Invalid[2]!.Value.Id));
        Assert.Null(envelope.Invalid[3]);
    }

    [Theory]
    [InlineData("", RpcErrorCodes.ParseError)]
    [InlineData("{", RpcErrorCodes.ParseError)]
    [InlineData("{} {}", RpcErrorCodes.ParseError)]
    [InlineData("[1,", RpcErrorCodes.ParseError)]
    [InlineData("[]", RpcErrorCodes.InvalidRequest)]
    [InlineData("true", RpcErrorCodes.InvalidRequest)]
    [InlineData("\"x\"", RpcErrorCodes.InvalidRequest)]
    public void Envelope_errors(string body, int code)
    {
        var envelope = Parse(body);
        Assert.Equal(EnvelopeKind.Invalid, envelope.Kind);
        Assert.Equal(code, envelope.ErrorCode);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"1.0","id":1,"method":"m"}""", "jsonrpc")]
    [InlineData("""{"id":1,"method":"m"}""", "jsonrpc")]
    [InlineData("""{"jsonrpc":"2.0","id":1}""", "method is required")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":""}""", "method is empty")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":1}""", "method must be a string")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"m","params":5}""", "params")]
    [InlineData("""{"jsonrpc":"2.0","id":[1],"method":"m"}""", "id must be")]
    public void Invalid_single_objects_are_reported_in_place(string body, string fragment)
    {
        var envelope = Parse(body);
        Assert.Equal(EnvelopeKind.Single, envelope.Kind);
        Assert.Contains(fragment, envelope.Invalid![0]!.Value.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_batch_over_the_limit_is_too_large()
    {
        var body = "[" + string.Join(",", Enumerable.Repeat("""{"jsonrpc":"2.0","id":1,"method":"m"}""", 4)) + "]";
        Assert.Equal(RpcErrorCodes.TooLarge, Parse(body, maxBatch: 3).ErrorCode);
        Assert.Equal(EnvelopeKind.Batch, Parse(body, maxBatch: 4).Kind);
    }

    [Fact]
    public void Deep_nesting_fails_fast_with_a_parse_error()
    {
        Assert.Equal(RpcErrorCodes.ParseError, Parse(new string('[', 100_000)).ErrorCode);
        var deepParams = """{"jsonrpc":"2.0","id":1,"method":"m","params":""" + new string('[', 1000) + new string(']', 1000) + "}";
        Assert.Equal(RpcErrorCodes.ParseError, Parse(deepParams).ErrorCode);
    }
}
