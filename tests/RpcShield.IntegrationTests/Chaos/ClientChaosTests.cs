using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using static RpcShield.IntegrationTests.Chaos.ChaosHttp;

namespace RpcShield.IntegrationTests.Chaos;

/// <summary>Client-scope faults through a real proxy over a real anvil: each fault at rate 1.0 has its documented effect.</summary>
public sealed class ClientChaosTests
{
    private const string StaticRules = """[{ name: chainid-error, scope: client, methods: ["eth_chainId"], fault: jsonrpc_error, rate: 1.0 }]""";

    [Fact]
    public async Task Every_client_fault_reaches_the_client_as_documented()
    {
        await using var node = await AnvilNode.StartAsync();
        await node.MineAsync(10);
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)], extraTop: ChaosTop(rules: StaticRules)));
        await proxy.WaitRoutableAsync(1);

        // Unaffected: no header, method not matched by the static rule.
        var (plain, plainBody, _) = await CallAsync(proxy, "eth_blockNumber");
        Assert.Equal(200, (int)plain.StatusCode);
        Assert.False(plain.Headers.Contains("X-RpcShield-Chaos"));
        var head = Convert.ToInt64(plainBody.GetProperty("result").GetString(), 16);

        // Static client rule: the bot sees a -32094 error.
        var (ruled, ruledBody, _) = await CallAsync(proxy, "eth_chainId");
        Assert.Equal(-32094, ruledBody.GetProperty("error").GetProperty("code").GetInt32());
        Assert.StartsWith("chaos:", ruledBody.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("chainid-error=jsonrpc_error", ruled.Headers.GetValues("X-RpcShield-Chaos").Single());

        var (r500, b500, _) = await CallAsync(proxy, "eth_blockNumber", chaosHeader: "fault=http_500");
        Assert.Equal(500, (int)r500.StatusCode);
        Assert.Equal(-32094, b500.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(42, b500.GetProperty("id").GetInt32());
        Assert.Equal("header=http_500", r500.Headers.GetValues("X-RpcShield-Chaos").Single());

        var (r429, _, _) = await CallAsync(proxy, "eth_blockNumber", chaosHeader: "fault=http_429");
        Assert.Equal(429, (int)r429.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), r429.Headers.RetryAfter?.Delta);

        var (_, custom, _) = await CallAsync(proxy, "eth_blockNumber", chaosHeader: "fault=jsonrpc_error;code=-32000;message=header not found");
        Assert.Equal(-32000, custom.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("chaos: header not found", custom.GetProperty("error").GetProperty("message").GetString());

        var (_, staleBody, _) = await CallAsync(proxy, "eth_blockNumber", chaosHeader: "fault=stale_head;blocks=4");
        Assert.Equal(head - 4, Convert.ToInt64(staleBody.GetProperty("result").GetString(), 16));

        // Reads pinned to `latest` are pinned to head - N instead.
        var (_, pinned, _) = await CallAsync(proxy, "eth_getBlockByNumber", """["latest",false]""", chaosHeader: "fault=stale_head;blocks=4");
        Assert.Equal(head - 4, Convert.ToInt64(pinned.GetProperty("result").GetProperty("number").GetString(), 16));

        // Latency: relative to an unfaulted call.
        var (_, _, fast) = await CallAsync(proxy, "eth_blockNumber");
        var (slowResponse, _, slow) = await CallAsync(proxy, "eth_blockNumber", chaosHeader: "latency=300ms");
        Assert.Equal(200, (int)slowResponse.StatusCode);
        Assert.True(slow >= TimeSpan.FromMilliseconds(290), $"latency fault took only {slow.TotalMilliseconds} ms");
        Assert.True(slow - fast >= TimeSpan.FromMilliseconds(250), $"added {(slow - fast).TotalMilliseconds} ms");

        // Timeout from a header hangs for at most max_latency (600ms), then answers -32094.
        var (_, hung, hangTime) = await CallAsync(proxy, "eth_blockNumber", chaosHeader: "fault=timeout");
        Assert.Equal(-32094, hung.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("timeout", hung.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(hangTime >= TimeSpan.FromMilliseconds(550), $"hung only {hangTime.TotalMilliseconds} ms");

        // Reset: the client sees the connection drop.
        await Assert.ThrowsAsync<HttpRequestException>(() => CallAsync(proxy, "eth_blockNumber", chaosHeader: "fault=reset"));

        // Header latency is clamped to max_latency.
        var (_, _, clamped) = await CallAsync(proxy, "eth_blockNumber", chaosHeader: "latency=5s");
        Assert.True(clamped < TimeSpan.FromSeconds(3), $"clamped latency took {clamped.TotalMilliseconds} ms");

        Assert.True(await InjectionsAsync(proxy, "header") >= 9);
        Assert.True(await InjectionsAsync(proxy, "chainid-error") >= 1);
    }

    [Fact]
    public async Task Header_chaos_is_ignored_unless_allowed()
    {
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)], extraTop: ChaosTop(allowHeader: false)));
        await proxy.WaitRoutableAsync(1);

        var (response, body, elapsed) = await CallAsync(proxy, "eth_blockNumber", chaosHeader: "fault=http_500");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(body.TryGetProperty("result", out _));
        Assert.False(response.Headers.Contains("X-RpcShield-Chaos"));
        Assert.Equal(0, await InjectionsAsync(proxy, "header"));
    }

    [Fact]
    public async Task Header_rate_is_clamped_to_max_rate()
    {
        await using var node = await AnvilNode.StartAsync();
        var top = ChaosTop().Replace("max_latency: 600ms", "max_latency: 600ms\n  max_rate: 0", StringComparison.Ordinal);
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)], extraTop: top));
        await proxy.WaitRoutableAsync(1);

        for (var i = 0; i < 10; i++)
        {
            var (response, body, _) = await CallAsync(proxy, "eth_blockNumber", chaosHeader: "fault=http_500;rate=1.0");
            Assert.Equal(200, (int)response.StatusCode);
            Assert.True(body.TryGetProperty("result", out JsonElement _));
        }

        Assert.Equal(0, await InjectionsAsync(proxy, "header"));
    }
}
