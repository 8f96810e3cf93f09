using RpcShield.Chaos;
using RpcShield.Configuration;

namespace RpcShield.Tests.Chaos;

public sealed class ChaosHeaderTests
{
    private static readonly ChaosOptions Caps = new() { MaxRate = 0.5, MaxLatency = TimeSpan.FromMilliseconds(250) };

    [Fact]
    public void Parses_fault_and_rate_and_clamps_rate()
    {
        var rule = ChaosHeader.Parse("fault=http_500;rate=0.9", Caps)!;
        Assert.Equal(ChaosFault.Http500, rule.Fault);
        Assert.Equal(ChaosScope.Client, rule.Scope);
        Assert.Equal("header", rule.Name);
        Assert.Equal(0.5, rule.Rate);
    }

    [Fact]
    public void Latency_alone_means_a_latency_fault_clamped_to_max_latency()
    {
        var rule = ChaosHeader.Parse("latency=100ms", Caps)!;
        Assert.Equal(ChaosFault.Latency, rule.Fault);
        Assert.Equal(TimeSpan.FromMilliseconds(100), rule.Latency!.Value.Max);

        var big = ChaosHeader.Parse("latency=10s", Caps)!;
        Assert.Equal(TimeSpan.FromMilliseconds(250), big.Latency!.Value.Max);
    }

    [Fact]
    public void Jsonrpc_error_options_are_read()
    {
        var rule = ChaosHeader.Parse("fault=jsonrpc_error;code=-32000;message=boom;methods=eth_call|eth_get*", Caps)!;
        Assert.Equal(-32000, rule.ErrorCode);
        Assert.Equal("chaos: boom", rule.ErrorMessage);
        Assert.Equal(["eth_call", "eth_get*"], rule.Methods);
    }

    [Theory]
    [InlineData("")]
    [InlineData("fault=nope")]
    [InlineData("fault=http_500;bogus=1")]
    [InlineData("rate=0.5")]
    [InlineData("latency=fast")]
    public void Bad_headers_are_ignored(string value) => Assert.Null(ChaosHeader.Parse(value, Caps));
}
