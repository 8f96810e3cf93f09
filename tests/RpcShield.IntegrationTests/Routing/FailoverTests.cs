using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Routing;

/// <summary>Three real anvil nodes behind RpcShield: nodes die, stall and lag; the client never notices.</summary>
public sealed class FailoverTests
{
    [Fact]
    public async Task Killing_and_stalling_nodes_under_steady_load_loses_no_request()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var c = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", a.Url), ("b", b.Url), ("c", c.Url)]));

        var load = SteadyLoad.Start(proxy.Client, static (_, i) => i % 3 == 0
            ? """[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]},{"jsonrpc":"2.0","id":"two","method":"eth_chainId","params":[]}]"""
            : $$"""{"jsonrpc":"2.0","id":{{i}},"method":"eth_getBalance","params":["{{AnvilNode.DevAddress0}}","latest"]}""", maxPerWorker: 2000);

        await Task.Delay(700);
        var top = await TopRankedAsync(proxy);
        (top == "a" ? a : top == "b" ? b : c).Kill();
        await Task.Delay(1000);
        var second = await TopRankedAsync(proxy);
        Assert.NotEqual(top, second);
        (second == "a" ? a : second == "b" ? b : c).Pause();
        await Task.Delay(2500);
        await load.StopAsync();

        Assert.True(load.Sent > 50, $"only {load.Sent} requests were sent");
        Assert.Empty(load.Failures);
    }

    [Fact]
    public async Task A_lagging_node_is_excluded_and_readmitted_when_it_catches_up()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", a.Url), ("b", b.Url)]));

        await a.MineAsync(10);
        // A head that jumped 10 blocks above the only other node is trusted once its node moves on past it.
        await WaitForAsync(proxy, s => Upstream(s, "a").GetProperty("head").GetInt64() == 10);
        await a.MineAsync(1);
        await WaitForAsync(proxy, s => Upstream(s, "b").GetProperty("health").GetString() == "lagging");
        using (var response = await proxy.Client.PostAsync("/", Json("""{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[]}""")))
        {
            Assert.Equal("a", response.Headers.GetValues("X-RpcShield-Upstream").Single());
        }

        await b.MineAsync(10);
        await WaitForAsync(proxy, s => Upstream(s, "b").GetProperty("health").GetString() == "healthy");
    }

    [Fact]
    public async Task A_node_with_the_wrong_chain_id_is_never_used()
    {
        await using var right = await AnvilNode.StartAsync(chainId: 31337);
        await using var wrong = await AnvilNode.StartAsync(chainId: 5);
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("wrong", wrong.Url), ("right", right.Url)]));

        for (var i = 0; i < 20; i++)
        {
            using var response = await proxy.Client.PostAsync("/", Json($$"""{"jsonrpc":"2.0","id":{{i}},"method":"eth_chainId","params":[]}"""));
            Assert.Equal("right", response.Headers.GetValues("X-RpcShield-Upstream").Single());
            Assert.Contains("0x7a69", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        Assert.Equal("wrongchain", Upstream(status, "wrong").GetProperty("health").GetString());
    }

    internal static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    internal static JsonElement Upstream(JsonElement status, string name) =>
        status.GetProperty("chains")[0].GetProperty("upstreams").EnumerateArray().Single(u => u.GetProperty("name").GetString() == name);

    private static async Task<string> TopRankedAsync(ProxyUnderTest proxy)
    {
        var status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
        return status.GetProperty("chains")[0].GetProperty("ranking")[0].GetString()!;
    }

    internal static async Task WaitForAsync(ProxyUnderTest proxy, Func<JsonElement, bool> condition, int timeoutMs = 15000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        JsonElement status = default;
        while (DateTime.UtcNow < deadline)
        {
            status = await proxy.Client.GetFromJsonAsync<JsonElement>("/status");
            if (condition(status))
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail("condition not reached; last status: " + status);
    }
}
