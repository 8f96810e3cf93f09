using System.Text;
using RpcShield.JsonRpc;
using RpcShield.Telemetry;

namespace RpcShield.Tests.JsonRpc;

public sealed class HexQuantityTests
{
    [Theory]
    [InlineData("0x0", 0L)]
    [InlineData("0x1a", 26L)]
    [InlineData("0X10", 16L)]
    [InlineData("0x7fffffffffffffff", long.MaxValue)]
    public void Parses_quantities(string text, long expected)
    {
        Assert.True(HexQuantity.TryParse(text, out var value));
        Assert.Equal(expected, value);
        Assert.Equal(expected, HexQuantity.Parse(text));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("12")]
    [InlineData("0xzz")]
    [InlineData("0xffffffffffffffff")] // would be -1 as a long
    [InlineData("0x10000000000000000")] // 17 digits
    public void Rejects_what_is_not_a_non_negative_quantity(string? text)
    {
        Assert.False(HexQuantity.TryParse(text, out _));
        Assert.Throws<FormatException>(() => HexQuantity.Parse(text));
    }

    [Fact]
    public void Formats_and_round_trips() => Assert.Equal(12_345L, HexQuantity.Parse(HexQuantity.Format(12_345)));

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":"0x2a"}""", true, 42L)]
    [InlineData("""{"id":1,"big":{"nested":[1,2,3]},"result":"0x2a"}""", true, 42L)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"x"}}""", false, 0L)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":42}""", false, 0L)]
    [InlineData("not json", false, 0L)]
    public void Reads_the_result_of_a_response(string json, bool ok, long expected)
    {
        Assert.Equal(ok, HexQuantity.TryReadResult(Encoding.UTF8.GetBytes(json), out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData(0.5, 3.0)]
    [InlineData(0.9, 5.0)]
    [InlineData(0.0, 1.0)]
    [InlineData(1.0, 5.0)]
    public void Nearest_rank_quantile_of_unsorted_samples(double q, double expected) =>
        Assert.Equal(expected, Quantile.OfUnsorted([5, 1, 4, 2, 3], q));

    [Fact]
    public void Quantile_of_nothing_is_null() => Assert.Null(Quantile.NearestRank([], 0.5));
}
