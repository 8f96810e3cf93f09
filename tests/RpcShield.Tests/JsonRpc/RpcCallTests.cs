using Microsoft.AspNetCore.Http;
using RpcShield.JsonRpc;
using RpcShield.Tests.Routing.Hedging;

namespace RpcShield.Tests.JsonRpc;

public sealed class RpcCallTests
{
    [Fact]
    public void Writes_nothing_without_annotations()
    {
        var headers = new HeaderDictionary();

        TestChains.HttpCall().WriteTo(headers);

        Assert.Empty(headers);
    }

    [Fact]
    public void Writes_a_single_annotation_as_is()
    {
        var call = TestChains.HttpCall();
        call.Annotate("X-RpcShield-Upstream", "node-a");
        call.Annotate("x-rpcshield-upstream", "node-a");
        var headers = new HeaderDictionary();

        call.WriteTo(headers);

        Assert.Equal("node-a", headers["X-RpcShield-Upstream"].ToString());
        Assert.Single(headers);
    }

    [Fact]
    public void Joins_distinct_values_of_one_header_and_keeps_headers_apart()
    {
        var call = TestChains.HttpCall();
        call.Annotate("X-RpcShield-Upstream", "node-a");
        call.Annotate("X-RpcShield-Chaos", "r1=http_500");
        call.Annotate("X-RpcShield-Upstream", "node-b");
        call.Annotate("X-RpcShield-Upstream", "node-a");
        var headers = new HeaderDictionary();

        call.WriteTo(headers);

        Assert.Equal("node-a,node-b", headers["X-RpcShield-Upstream"].ToString());
        Assert.Equal("r1=http_500", headers["X-RpcShield-Chaos"].ToString());
        Assert.Equal(2, headers.Count);
    }
}
