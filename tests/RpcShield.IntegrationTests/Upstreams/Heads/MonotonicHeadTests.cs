using System.Globalization;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Upstreams.Heads;

/// <summary>eth_blockNumber never goes backwards, and latest reads prefer the node at the best head.</summary>
public sealed class MonotonicHeadTests
{
    [Fact]
    public async Task Block_number_never_goes_backwards_when_the_node_at_the_head_dies()
    {
        await using var behind = await AnvilNode.StartAsync();
        await using var ahead = await AnvilNode.StartAsync();
        await behind.MineAsync(3);
        await ahead.MineAsync(5);
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain(
            [("behind", behind.Url, "primary"), ("ahead", ahead.Url, "fallback")],
            health: "{ interval: 200ms, timeout: 1s, fail_after: 2, recover_after: 2, max_block_lag: 5 }"));

        // Both are routable (lag 2 <= 5) and "behind" ranks first by tier, yet latest reads go to the head.
        var first = await Rpc.CallAsync(proxy, "eth_blockNumber");
        Assert.Equal("ahead", first.Upstream);
        Assert.Equal(5, Hex(first.Result.GetString()!));
        Assert.Equal("ahead", (await Rpc.BalanceAsync(proxy)).Upstream);
        Assert.Equal("behind", (await Rpc.CallAsync(proxy, "eth_getBalance", $"[\"{AnvilNode.DevAddress0}\",\"0x1\"]")).Upstream);

        ahead.Kill();
        var last = 5L;
        for (var i = 0; i < 10; i++)
        {
            var reply = await Rpc.CallAsync(proxy, "eth_blockNumber");
            Assert.False(reply.IsError, reply.Body.ToString());
            var number = Hex(reply.Result.GetString()!);
            Assert.True(number >= last, $"eth_blockNumber went from {last} to {number}");
            last = number;
        }

        Assert.Equal(5, last);
        await behind.MineAsync(4);
        await Rpc.WaitUntilAsync(async () => Hex((await Rpc.CallAsync(proxy, "eth_blockNumber")).Result.GetString()!) == 7, "the head to move on past the old mark");
    }

    private static long Hex(string value) => long.Parse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
}
