using System.Text;
using RpcShield.JsonRpc;

namespace RpcShield.Tests.JsonRpc;

public sealed class JsonEscapesTests
{
    [Theory]
    [InlineData("plain", true)]
    [InlineData("a\\\"b\\\\c\\n", true)]
    [InlineData("\\u00e9\\u2028", true)]
    [InlineData("\\ud83d\\ude00", true)]
    [InlineData("\\uD83D\\uDE00 and \\ud83d\\ude01", true)]
    [InlineData("\\ud800", false)]
    [InlineData("\\udc00", false)]
    [InlineData("\\udc00\\ud800", false)]
    [InlineData("\\ud800x", false)]
    [InlineData("\\ud800\\n", false)]
    [InlineData("\\ud800\\ud800", false)]
    [InlineData("x\\ud83d\\ude00\\ud83d", false)]
    public void Surrogate_escapes_must_come_in_high_low_pairs(string raw, bool wellFormed) =>
        Assert.Equal(wellFormed, JsonEscapes.AreWellFormed(Encoding.ASCII.GetBytes(raw)));

    [Theory]
    [InlineData("-0", true)]
    [InlineData("0", false)]
    [InlineData("-7", false)]
    [InlineData("-07", true)]
    public void Negative_zero_ids_are_rewritten_so_they_come_back_byte_exact(string id, bool rewritten) =>
        Assert.Equal(rewritten, RpcIdRewriter.NeedsRewrite(Encoding.ASCII.GetBytes(id)));

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}""", "duplicate key \"method\"")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"id":2,"method":"a"}""", "duplicate key \"id\"")]
    [InlineData("""{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"a"}""", "duplicate key \"jsonrpc\"")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"a","params":[],"params":{}}""", "duplicate key \"params\"")]
    public void Duplicate_envelope_keys_make_a_batch_item_invalid(string item, string message)
    {
        var envelope = RpcEnvelopeParser.Parse(Encoding.UTF8.GetBytes($$"""[{{item}},{"jsonrpc":"2.0","id":9,"method":"ok"}]"""), 10);
        Assert.Equal(EnvelopeKind.Batch, envelope.Kind);
        var invalid = Assert.IsType<InvalidItem>(envelope.Invalid![0]);
        Assert.Contains(message, invalid.Message, StringComparison.Ordinal);
        Assert.Null(envelope.Invalid[1]);
        Assert.Equal("ok", envelope.Items[1].Method);
    }

    [Fact]
    public void The_text_and_duplicate_key_checks_allocate_nothing_per_string()
    {
        var small = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"0x1","data":"0x00"},"latest"]}""");
        var large = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"0x1","data":"0x{{new string('a', 100_000)}}","x":["\u00e9","\ud83d\ude00"]},"latest"]}""");
        RpcEnvelopeParser.Parse(small, 10);
        RpcEnvelopeParser.Parse(large, 10);

        var before = GC.GetAllocatedBytesForCurrentThread();
        RpcEnvelopeParser.Parse(small, 10);
        var smallBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        RpcEnvelopeParser.Parse(large, 10);
        var largeBytes = GC.GetAllocatedBytesForCurrentThread() - before;

        // Only the envelope and its item array: the same for 100 KB of params with escapes as for a few bytes.
        Assert.Equal(smallBytes, largeBytes);
        Assert.True(smallBytes <= 256, $"{smallBytes} bytes");
    }
}
