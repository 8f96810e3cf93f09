using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Caching;

/// <summary>The cache against a real anvil node: final-data hits, head data, and no stale answer across `anvil_reorg`.</summary>
public sealed class CacheReorgTests
{
    [Fact]
    public async Task After_a_reorg_no_read_through_the_cache_differs_from_the_node()
    {
        await using var node = await AnvilNode.StartAsync();
        // More blocks than finality_depth (64): the oldest ones are final.
        await node.MineAsync(80);
        await using var proxy = await ProxyUnderTest.StartAsync(CacheClient.Yaml(node.Url, node.WsUrl));
        await proxy.WaitRoutableAsync(1);
        await Rpc.WaitUntilAsync(async () => (await CacheClient.CallAsync(proxy, "eth_blockNumber")).Cache == "hit", "eth_blockNumber answered from the live newHeads feed");

        const string to = "0x000000000000000000000000000000000000beef";
        var hash = (await node.CallAsync("eth_sendTransaction", new { from = AnvilNode.DevAddress0, to, value = "0xde0b6b3a7640000" })).GetString()!;
        await Rpc.WaitUntilAsync(async () => (await CacheClient.CallAsync(proxy, "eth_getTransactionReceipt", $"[\"{hash}\"]")).Result.ValueKind == JsonValueKind.Object, "the receipt through the proxy");

        var reads = new (string Method, string Params)[]
        {
            ("eth_getTransactionReceipt", $"[\"{hash}\"]"),
            ("eth_getBlockByNumber", "[\"latest\",false]"),
            ("eth_getBalance", $"[\"{to}\",\"latest\"]"),
            ("eth_getTransactionCount", $"[\"{AnvilNode.DevAddress0}\",\"latest\"]"),
            ("eth_blockNumber", "[]"),
        };

        // Warm the cache: latest data is kept while the head is unchanged.
        foreach (var (method, parameters) in reads)
        {
            await CacheClient.CallAsync(proxy, method, parameters);
        }

        Assert.Equal("hit", (await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", "[\"latest\",false]")).Cache);
        Assert.Equal("hit", (await CacheClient.CallAsync(proxy, "eth_getBalance", $"[\"{to}\",\"latest\"]")).Cache);

        // Old blocks are final: a repeated read is a hit.
        Assert.Equal("miss", (await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", "[\"0x5\",false]")).Cache);
        Assert.Equal("hit", (await CacheClient.CallAsync(proxy, "eth_getBlockByNumber", "[\"0x5\",false]")).Cache);

        var before = new List<JsonElement>();
        foreach (var (method, parameters) in reads)
        {
            before.Add((await CacheClient.CallAsync(proxy, method, parameters)).Result);
        }

        await node.CallAsync("anvil_reorg", 3, Array.Empty<object>());
        await Task.Delay(100);

        foreach (var (method, parameters) in reads)
        {
            var direct = await DirectAsync(node, method, parameters);
            var through = await CacheClient.CallAsync(proxy, method, parameters);
            Assert.True(JsonEquals(direct, through.Result), $"{method} {parameters}: node {direct} but RpcShield ({through.Cache}) {through.Result}");
        }

        // The reorg changed what the warm cache held: the receipt, the latest block, the balance and the nonce.
        for (var i = 0; i < 4; i++)
        {
            Assert.False(JsonEquals(before[i], await DirectAsync(node, reads[i].Method, reads[i].Params)), $"{reads[i].Method} did not change in the reorg");
        }
        Assert.True(await Rpc.MetricAsync(proxy, "rpcshield_cache_evictions_total", ("chain", "test"), ("reason", "new_head")) >= 1);
    }

    private static async Task<JsonElement> DirectAsync(AnvilNode node, string method, string parameters)
    {
        using var client = new HttpClient();
        var body = $$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":{{parameters}}}""";
        using var response = await client.PostAsync(node.Url, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("result").Clone();
    }

    private static bool JsonEquals(JsonElement a, JsonElement b) => JsonElement.DeepEquals(a, b);
}
