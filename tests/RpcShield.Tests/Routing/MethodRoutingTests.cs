using RpcShield.Configuration;
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

public sealed class MethodRouterTests
{
    private static ChainOptions Chain() => new()
    {
        Name = "mainnet",
        ChainId = 1,
        Upstreams =
        [
            new() { Name = "local", Url = "http://127.0.0.1:1", Methods = new() { Deny = ["trace_*", "debug_*"] } },
            new() { Name = "provider", Url = "http://127.0.0.1:2", Methods = new() { Deny = ["debug_*"] } },
            new() { Name = "archive", Url = "http://127.0.0.1:3", Methods = new() { Allow = ["trace_*", "debug_*", "eth_getLogs"] } },
        ],
        Routes =
        [
            new() { Methods = ["eth_call", "eth_estimateGas"], Upstreams = ["local", "provider"] },
            new() { Methods = ["eth_*"], Upstreams = ["local"] },
            new() { Methods = ["debug_traceCall"], Upstreams = ["local"] },
        ],
    };

    [Theory]
    [InlineData("eth_call", new[] { true, true, false })]             // first route wins (not eth_*)
    [InlineData("eth_getBalance", new[] { true, false, false })]      // eth_* route
    [InlineData("eth_getLogs", new[] { true, false, false })]         // route restricts although archive allows it
    [InlineData("trace_block", new[] { false, true, true })]          // no route: allow/deny only
    [InlineData("debug_traceTransaction", new[] { false, false, true })]
    [InlineData("debug_traceCall", new[] { false, false, false })]    // route to local, which denies debug_*
    [InlineData("net_version", new[] { true, true, false })]
    public void Allow_deny_then_first_matching_route(string method, bool[] expected)
    {
        var router = new MethodRouter(Chain());
        Assert.Equal(expected, router.Eligible(method));
        Assert.Equal(expected.Any(e => e), router.IsServable(method));
    }

    [Fact]
    public void Answers_are_cached_per_method()
    {
        var router = new MethodRouter(Chain());
        Assert.Same(router.Eligible("eth_call"), router.Eligible("eth_call"));
    }
}
