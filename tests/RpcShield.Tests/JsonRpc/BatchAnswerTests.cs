using System.Text;
using RpcShield.JsonRpc;

namespace RpcShield.Tests.JsonRpc;

public sealed class BatchAnswerTests
{
    private static readonly ReadOnlyMemory<byte>[] Ids = [Bytes("1"), Bytes("\"two\""), Bytes("\"rpcshield-id-2\"")];

    [Fact]
    public void Answers_are_found_by_their_raw_id_in_any_order()
    {
        var json = """[{"jsonrpc":"2.0","id":"rpcshield-id-2","result":"c"}, {"id":1,"jsonrpc":"2.0","result":{"nested":{"id":"two"}}},{"jsonrpc":"2.0","id":"two","error":{"code":3,"message":"execution reverted"}}]""";
        var answers = Split(json, out var ok);

        Assert.True(ok);
        Assert.Equal("""{"id":1,"jsonrpc":"2.0","result":{"nested":{"id":"two"}}}""", answers[0]);
        Assert.Equal("""{"jsonrpc":"2.0","id":"two","error":{"code":3,"message":"execution reverted"}}""", answers[1]);
        Assert.Equal("""{"jsonrpc":"2.0","id":"rpcshield-id-2","result":"c"}""", answers[2]);
    }

    [Fact]
    public void A_missing_unknown_or_repeated_answer_leaves_its_request_unanswered_or_first_come()
    {
        // The last answer's `id` is overridden by a null one: it answers nothing.
        var json = """[{"jsonrpc":"2.0","id":1,"result":"first"},{"jsonrpc":"2.0","id":1,"result":"again"},{"jsonrpc":"2.0","id":99,"result":"stranger"},{"jsonrpc":"2.0","id":"two","error":{"code":-32600,"message":"bad"},"id":null}]""";
        var answers = Split(json, out var ok);

        Assert.True(ok);
        Assert.Contains("first", answers[0], StringComparison.Ordinal);
        Assert.Equal("", answers[1]);
        Assert.Equal("", answers[2]);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch too large"}}""")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":"a"},"oops"]""")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":"a"}""")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":"a"}] trailing""")]
    [InlineData("""[]""")]
    [InlineData("not json")]
    public void Anything_but_an_array_of_objects_is_no_batch_answer(string json)
    {
        Split(json, out var ok);
        Assert.False(ok);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("\"abc\"", true)]
    [InlineData("null", false)]
    [InlineData("", false)]
    [InlineData("1.5", false)]
    [InlineData("-0", false)]
    [InlineData("\"a\\u0041\"", false)]
    public void Only_ids_a_node_echoes_exactly_are_matchable(string id, bool matchable) =>
        Assert.Equal(matchable, BatchAnswer.IsMatchableId(Encoding.UTF8.GetBytes(id)));

    [Theory]
    [InlineData("""[{"id":1,"error":{"code":-32000,"message":"header not found"}},{"id":2,"result":"0x1"}]""", true, false, 0, false)]
    [InlineData("""[{"id":1,"error":{"code":-32000,"message":"header not found"}},{"id":2,"error":{"code":-32000,"message":"missing trie node"}}]""", true, true, -32000, false)]
    [InlineData("""[{"id":1,"result":"0x1"},{"id":2,"error":{"code":-32005,"message":"rate limit exceeded"}}]""", true, true, -32005, false)]
    [InlineData("""[{"id":1,"error":{"code":3,"message":"execution reverted"}}]""", true, false, 0, false)]
    [InlineData("""[]""", false, false, 0, false)]
    [InlineData("""[{"id":1,"result":"0x1"},{"id":2,"error":{"code":-32005,"message":"rate limit exceeded"}},""", false, false, 0, false)]
    [InlineData("""[{"id":1,"result":"0x1"}""", false, false, 0, false)]
    [InlineData("""{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch too large"}}""", true, true, -32600, true)]
    [InlineData("""{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"rate limit exceeded"}}""", true, true, -32005, false)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":"0x1"}""", true, false, 0, true)]
    [InlineData("""<html>bad gateway</html>""", false, false, 0, true)]
    [InlineData("", false, false, 0, false)]
    public void A_batch_answer_is_summarised_as_one_attempt(string json, bool isJsonRpc, bool hasError, int code, bool refused)
    {
        // Answered when any item was; a node failing every item fails; -32005 anywhere throttles; not an array: refused (unless throttling).
        var reply = BatchAnswer.Summarize(Encoding.UTF8.GetBytes(json), out var wasRefused, out _);

        Assert.Equal((isJsonRpc, hasError, code, refused), (reply.IsJsonRpc, reply.HasError, reply.ErrorCode, wasRefused));
    }

    /// <summary>Each of <see cref="Ids"/>' answer as text ("" when unanswered); <paramref name="ok"/>: the answer was an array of objects.</summary>
    private static string[] Split(string json, out bool ok)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        BatchAnswer.Summarize(bytes, out _, out var items);
        ok = items is not null;
        if (items is null)
        {
            return [];
        }

        var taken = new bool[items.Count];
        return Ids.Select(id => BatchAnswer.Find(bytes, items, id.Span, taken) is >= 0 and var i ? Encoding.UTF8.GetString(bytes.AsSpan()[items[i].Answer]) : "").ToArray();
    }

    private static ReadOnlyMemory<byte> Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
