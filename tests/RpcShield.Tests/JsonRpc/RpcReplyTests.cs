using System.Buffers;
using System.Text;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Upstreams.Transport;

namespace RpcShield.Tests.JsonRpc;

/// <summary>The reply to one item is written without a list (single-part mode) and keeps the envelope's shape.</summary>
public sealed class RpcReplyTests
{
    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber"}""", """{"jsonrpc":"2.0","id":7,"result":"0x1"}""")]
    [InlineData("""[{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber"}]""", """[{"jsonrpc":"2.0","id":7,"result":"0x1"}]""")]
    [InlineData("""{"jsonrpc":"2.0","method":"eth_blockNumber"}""", "")]
    public void One_item_is_answered_in_the_shape_it_came_in(string request, string expected)
    {
        var envelope = RpcEnvelopeParser.Parse(Encoding.UTF8.GetBytes(request), 100);
        var answer = new PooledBuffer();
        answer.Write("""{"jsonrpc":"2.0","id":7,"result":"0x1"}"""u8);
        using var reply = RpcProcessor.Assemble(envelope, ForwardResult.Local(answer));

        var written = new ArrayBufferWriter<byte>();
        reply.CopyTo(written);

        Assert.Equal(expected, Encoding.UTF8.GetString(written.WrittenSpan));
        Assert.Equal(expected.Length, reply.Length);
        Assert.Equal(expected.Length == 0, reply.IsEmpty);
    }

    [Fact]
    public void An_invalid_single_item_gets_its_error_in_single_part_mode()
    {
        var envelope = RpcEnvelopeParser.Parse("""{"jsonrpc":"2.0","id":3,"method":""}"""u8.ToArray(), 100);
        Assert.Equal(EnvelopeKind.Single, envelope.Kind);
        using var reply = RpcProcessor.Assemble(envelope, single: null);

        var written = new ArrayBufferWriter<byte>();
        reply.CopyTo(written);

        Assert.StartsWith("""{"jsonrpc":"2.0","id":3,"error":{"code":-32600""", Encoding.UTF8.GetString(written.WrittenSpan), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(7000.0, 7000.0)]
    [InlineData(-5.0, 0.0)]
    [InlineData(1e13, int.MaxValue * 1.0)]
    public void Retry_after_is_kept_in_whole_milliseconds(double? givenMs, double? keptMs)
    {
        var response = new UpstreamResponse(429, givenMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null);

        Assert.Equal(keptMs, response.RetryAfter?.TotalMilliseconds);
        Assert.False(response.IsSuccess);
    }
}
