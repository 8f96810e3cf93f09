using System.Text;
using RpcShield.JsonRpc;

namespace RpcShield.Tests.JsonRpc;

public sealed class UpstreamReplyTests
{
    private static UpstreamReply Inspect(string json) => UpstreamReply.Inspect(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void A_result_is_json_rpc_without_error()
    {
        Assert.Equal(new UpstreamReply(true, false, 0, null), Inspect("""{"jsonrpc":"2.0","id":1,"result":{"big":[1,2,3]}}"""));
        Assert.Equal(new UpstreamReply(true, false, 0, null), Inspect("""{"jsonrpc":"2.0","id":1,"result":null}"""));
    }

    [Fact]
    public void An_error_object_gives_code_and_message()
    {
        Assert.Equal(new UpstreamReply(true, true, -32000, "header not found"),
            Inspect("""{"jsonrpc":"2.0","id":1,"error":{"data":{"x":[1]},"code":-32000,"message":"header not found"}}"""));
    }

    [Fact]
    public void A_large_framed_structured_result_is_not_walked_but_anything_else_is()
    {
        var logs = "[" + string.Join(",", Enumerable.Repeat("""{"logIndex":"0x0"}""", 5000)) + "]";
        var large = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"result":""" + logs + "} ");
        Assert.True(large.Length >= UpstreamReply.WalkLimit);
        // Complete by its framing: passed on as the node's bytes, only the closing brace is checked.
        Assert.Equal(new UpstreamReply(true, false, 0, null), UpstreamReply.Inspect(large, framedComplete: true));
        Assert.False(UpstreamReply.Inspect(large.AsSpan(0, large.Length - 20), framedComplete: true).IsJsonRpc);
        // Without known framing (a body read to the connection's end) a cut answer is caught by the walk.
        var cut = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"result":""" + logs[..^1] + ",{}}");
        Assert.False(UpstreamReply.Inspect(cut).IsJsonRpc);
        // A small answer is always walked: an error beside a structured result is still seen.
        Assert.True(Inspect("""{"jsonrpc":"2.0","id":1,"result":[],"error":{"code":-32000,"message":"header not found"}}""").HasError);
        // `result: null` beside an error (seen from some providers) still reads the error.
        Assert.Equal(new UpstreamReply(true, true, -32000, "header not found"),
            Inspect("""{"jsonrpc":"2.0","id":1,"result":null,"error":{"code":-32000,"message":"header not found"}}"""));
    }

    [Fact]
    public void Error_null_beside_a_result_is_not_an_error_and_a_string_error_is()
    {
        Assert.False(Inspect("""{"jsonrpc":"2.0","id":1,"error":null,"result":"0x1"}""").HasError);
        Assert.Equal(new UpstreamReply(true, true, 0, "boom"), Inspect("""{"jsonrpc":"2.0","id":1,"error":"boom"}"""));
    }

    [Fact]
    public void A_deeply_nested_result_such_as_a_1024_frame_call_trace_is_still_an_answer()
    {
        var nested = string.Concat(Enumerable.Repeat("{\"calls\":[", 1100)) + "{}" + string.Concat(Enumerable.Repeat("]}", 1100));
        Assert.Equal(new UpstreamReply(true, false, 0, null), Inspect("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":" + nested + "}"));

        var answer = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"result\":" + nested + ",\"id\":\"rpcshield-id-0\"}");
        var restored = Encoding.UTF8.GetString(RpcIdRewriter.RestoreId(answer, "1.5"u8).Span);
        Assert.EndsWith(",\"id\":1.5}", restored, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<html>502 Bad Gateway</html>")]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("""{"jsonrpc":"2.0","id":1}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":""")]
    public void Anything_else_is_not_json_rpc(string body) => Assert.False(Inspect(body).IsJsonRpc);
}
