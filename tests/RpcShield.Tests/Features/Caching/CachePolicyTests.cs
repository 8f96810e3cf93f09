using System.Text;
using RpcShield.Features.Caching;

namespace RpcShield.Tests.Features.Caching;

public sealed class CachePolicyTests
{
    private const long Finalized = 100;

    [Theory]
    [InlineData("eth_getBlockByNumber", "[\"0x64\",false]", "Final", 100)]
    [InlineData("eth_getBlockByNumber", "[\"0x65\",false]", "Never", -1)]
    [InlineData("eth_getBlockByNumber", "[\"latest\",false]", "Head", -1)]
    [InlineData("eth_getBlockByNumber", "[\"pending\",false]", "Never", -1)]
    [InlineData("eth_getBlockByNumber", "[\"finalized\",false]", "Never", -1)]
    [InlineData("eth_getBalance", "[\"0xabc\",\"pending\"]", "Never", -1)]
    [InlineData("eth_getBalance", "[\"0xabc\",\"0x10\"]", "Final", 16)]
    [InlineData("eth_call", "[{\"to\":\"0xabc\"}]", "Head", -1)]
    [InlineData("eth_call", "[{\"to\":\"0xabc\"},{\"blockNumber\":\"0x1\"}]", "Final", 1)]
    [InlineData("eth_getTransactionReceipt", "[\"0x01\"]", "ByHash", -1)]
    [InlineData("eth_getLogs", "[{\"fromBlock\":\"0x1\",\"toBlock\":\"0x64\"}]", "Final", 100)]
    [InlineData("eth_getLogs", "[{\"fromBlock\":\"0x1\",\"toBlock\":\"0x65\"}]", "Never", -1)]
    [InlineData("eth_getLogs", "[{\"fromBlock\":\"0x1\",\"toBlock\":\"latest\"}]", "Never", -1)]
    [InlineData("eth_getLogs", "[{\"blockHash\":\"0x01\"}]", "Never", -1)]
    [InlineData("eth_sendRawTransaction", "[\"0x02\"]", "Never", -1)]
    [InlineData("eth_newFilter", "[{}]", "Never", -1)]
    [InlineData("eth_chainId", "[]", "Forever", -1)]
    [InlineData("net_version", "[]", "Forever", -1)]
    [InlineData("eth_blockNumber", "[]", "ShareOnly", -1)]
    public void Classifies_reads(string method, string parameters, string kind, long block)
    {
        var rule = CachePolicy.Classify(method, Encoding.UTF8.GetBytes(parameters), Finalized);
        Assert.Equal(kind, rule.Kind.ToString());
        Assert.Equal(block, rule.Block);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"blockNumber":"0x10","status":"0x1"}}""", true, 16)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"blockNumber":"0x65"}}""", false, 101)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"blockNumber":null}}""", false, -1)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":null}""", false, -1)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"boom"}}""", false, -1)]
    public void Keeps_by_hash_answers_only_when_found_and_final(string response, bool kept, long block)
    {
        var rule = new CacheRule(CacheRuleKind.ByHash);
        Assert.Equal(kept, CachePolicy.TryTakeResult(Encoding.UTF8.GetBytes(response), rule, Finalized, out _, out var at, out _));
        if (block >= 0)
        {
            Assert.Equal(block, at);
        }
    }

    [Fact]
    public void Errors_and_nulls_are_never_kept()
    {
        var final = new CacheRule(CacheRuleKind.Final, 5);
        Assert.False(CachePolicy.TryTakeResult("""{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted"}}"""u8, final, Finalized, out _, out _, out _));
        Assert.False(CachePolicy.TryTakeResult("""{"jsonrpc":"2.0","id":1,"result":null}"""u8, final, Finalized, out _, out _, out _));
        Assert.True(CachePolicy.TryTakeResult("""{"id":1,"jsonrpc":"2.0","result":{"a":[1,2]}}"""u8, final, Finalized, out var result, out _, out _));
        Assert.Equal("""{"a":[1,2]}""", Encoding.UTF8.GetString(result));
    }

    [Fact]
    public void Keys_are_canonical_and_hold_nothing_but_method_and_params()
    {
        Assert.True(CacheKey.TryCreate("eth_getBalance", """[ "0xABCdef", "latest" ]"""u8, out var a));
        Assert.True(CacheKey.TryCreate("eth_getBalance", """["0xabcdef","latest"]"""u8, out var b));
        Assert.True(CacheKey.TryCreate("eth_getCode", """["0xabcdef","latest"]"""u8, out var c));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal("eth_getBalance\0[\"0xabcdef\",\"latest\"]", Encoding.UTF8.GetString(a.Bytes));
        Assert.False(CacheKey.TryCreate("eth_getBalance", "[\"0xabc\","u8, out _));
    }
}
