using System.Text;
using RpcShield.Features.Broadcast;

namespace RpcShield.Tests.Features.Broadcast;

public sealed class RawTransactionTests
{
    [Theory]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("[1]")]
    [InlineData("[\"0x\"]")]
    [InlineData("[\"0xabc\"]")]
    [InlineData("[\"f86b\"]")]
    [InlineData("[\"0xzz\"]")]
    [InlineData("[\"0x")]
    public void Bad_params_are_refused_with_a_reason(string json)
    {
        Assert.False(RawTransaction.TryHash(Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Hash_is_keccak256_of_the_raw_bytes()
    {
        // keccak256("") is the well-known c5d2…a470; a one-byte 0x80 (RLP empty string) is 56e8…b421.
        Assert.True(RawTransaction.TryHash("[\"0x80\"]"u8, out var hash, out _));
        Assert.Equal("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421", hash);
    }

    [Theory]
    [InlineData("already known", true)]
    [InlineData("Known transaction: 0xabc", true)]
    [InlineData("transaction already imported", true)]
    [InlineData("nonce too low", false)]
    [InlineData("insufficient funds for gas * price + value", false)]
    public void Known_messages(string message, bool known) => Assert.Equal(known, BroadcastOutcome.IsKnownMessage(message));
}
