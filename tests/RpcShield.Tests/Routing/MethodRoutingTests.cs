using RpcShield.Routing;

namespace RpcShield.Tests.Routing;

public sealed class MethodGlobTests
{
    [Theory]
    [InlineData("eth_call", "eth_call", true)]
    [InlineData("eth_call", "eth_callBundle", false)]
    [InlineData("trace_*", "trace_block", true)]
    [InlineData("trace_*", "trace_", true)]
    [InlineData("trace_*", "debug_traceCall", false)]
    [InlineData("*", "anything", true)]
    [InlineData("eth_get*ByHash", "eth_getBlockByHash", true)]
    [InlineData("eth_get*ByHash", "eth_getBlockByNumber", false)]
    [InlineData("*_sendBundle", "mev_sendBundle", true)]
    [InlineData("*Bundle*", "eth_cancelBundle", true)]
    [InlineData("eth_*_x", "eth_a_b_x", true)]
    [InlineData("ETH_call", "eth_call", false)]
    public void Globs_match_runs_of_characters_case_sensitively(string pattern, string method, bool expected) =>
        Assert.Equal(expected, MethodGlob.IsMatch(pattern, method));

    [Fact]
    public void Matches_any_of_a_list()
    {
        Assert.True(MethodGlob.MatchesAny(["debug_*", "trace_*"], "trace_call"));
        Assert.False(MethodGlob.MatchesAny(["debug_*", "trace_*"], "eth_call"));
        Assert.False(MethodGlob.MatchesAny([], "eth_call"));
    }
}
