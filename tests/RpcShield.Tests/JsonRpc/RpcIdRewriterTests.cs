using System.Text;
using System.Text.Json;
using RpcShield.JsonRpc;

namespace RpcShield.Tests.JsonRpc;

public sealed class RpcIdRewriterTests
{
    private static RpcRequestItem Item(string json) => RpcEnvelopeParser.Parse(Encoding.UTF8.GetBytes(json), 10).Items[0];

    private static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    [Theory]
    [InlineData("1", false)]
    [InlineData("-42", false)]
    [InlineData("0", false)]
    [InlineData("999999999999999", false)]
    [InlineData("\"abc\"", false)]
    [InlineData("null", false)]
    [InlineData("1.5", true)]
    [InlineData("1e3", true)]
    [InlineData("1234567890123456", true)]
    [InlineData("\"a\\u0041\"", true)]
    [InlineData("\"a<b\"", true)]
    [InlineData("\"caf\u00e9\"", true)]
    [InlineData("\"plain-id_42 ok\"", false)]
    public void Only_ids_a_node_might_not_echo_exactly_are_rewritten(string id, bool expected) =>
        Assert.Equal(expected, RpcIdRewriter.NeedsRewrite(Item($$"""{"jsonrpc":"2.0","id":{{id}},"method":"m","params":[1]}""")));

    [Fact]
    public void Notifications_are_rewritten()
    {
        var item = Item("""{"jsonrpc":"2.0","method":"m","params":[1]}""");
        Assert.True(RpcIdRewriter.NeedsRewrite(item));
        var rewritten = RpcIdRewriter.WithSyntheticId(item, 3);
        Assert.Equal("""{"id":"rpcshield-id-3","jsonrpc":"2.0","method":"m","params":[1]}""", Text(rewritten.Raw));
        Assert.Equal("\"rpcshield-id-3\"", Text(rewritten.Id));
        Assert.Equal("[1]", Text(rewritten.Params));
        Assert.Equal("m", rewritten.Method);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1.5,"method":"m","params":["x"]}""")]
    [InlineData("""{"params":["x"],"jsonrpc":"2.0","method":"m","id":123456789012345678901234567890}""")]
    public void The_synthetic_id_replaces_the_original_in_place(string json)
    {
        var rewritten = RpcIdRewriter.WithSyntheticId(Item(json), 12);
        using var document = JsonDocument.Parse(rewritten.Raw);
        Assert.Equal("rpcshield-id-12", document.RootElement.GetProperty("id").GetString());
        Assert.Equal("m", document.RootElement.GetProperty("method").GetString());
        Assert.Equal("""["x"]""", Text(rewritten.Params));
        Assert.Equal("\"rpcshield-id-12\"", Text(rewritten.Id));
    }

    [Fact]
    public void The_clients_id_is_restored_in_the_answer_without_touching_the_result()
    {
        var answer = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","result":{"id":"inner"},"id":"rpcshield-id-0"}""");
        var restored = RpcIdRewriter.RestoreId(answer, "1.50"u8);
        Assert.Equal("""{"jsonrpc":"2.0","result":{"id":"inner"},"id":1.50}""", Text(restored));
    }

    [Fact]
    public void An_answer_without_an_id_is_left_alone()
    {
        var answer = Encoding.UTF8.GetBytes("<html/>");
        Assert.Equal("<html/>", Text(RpcIdRewriter.RestoreId(answer, "1"u8)));
    }
}
