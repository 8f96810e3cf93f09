using System.Diagnostics;
using System.Text.Json;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>`newHeads` through RpcShield over real anvil nodes (--block-time 1) that die and stall.</summary>
public sealed class HeadFailoverTests
{
    [Fact]
    public async Task NewHeads_survive_the_serving_node_being_killed_under_the_same_id_without_gaps_or_duplicates()
    {
        await using var bed = await SubscriptionBed.StartAsync(3);
        await using var client = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress);
        var id = await client.SubscribeAsync("""["newHeads"]""");
        var heads = new List<long>();
        await CollectAsync(client, id, heads, until: () => heads.Count >= 3, TimeSpan.FromSeconds(10));
        var serving = await bed.WaitForServingAsync();

        bed.Node(serving).Kill();
        var beforeKill = heads.Count;
        await CollectAsync(client, id, heads, until: () => false, TimeSpan.FromSeconds(6));

        Assert.True(heads.Count - beforeKill >= 3, $"only {heads.Count - beforeKill} heads after the kill: {string.Join(',', heads)}");
        AssertConsecutive(heads);
        var now = await bed.WaitForServingAsync();
        Assert.NotEqual(serving, now);
        Assert.True(await bed.MetricAsync($"rpcshield_ws_resubscriptions_total{{chain=\"test\",upstream=\"{now}\"}}") >= 1);
        Assert.Contains(bed.Journal.Entries, e => e is { Kind: "failover", Method: "eth_subscribe" } && e.Upstream == serving);
        Assert.Equal(1, await bed.MetricAsync("rpcshield_ws_subscriptions{chain=\"test\"}"));
    }

    [Fact]
    public async Task A_stalled_node_is_detected_and_replaced_within_the_stall_window()
    {
        // Probes every 5 s: the SIGSTOPped node is caught by the stall window (2 × 1 s), not by health checks.
        await using var bed = await SubscriptionBed.StartAsync(
            2,
            subscriptions: "{ block_time: 1s, stall_after: 2 }",
            health: "{ interval: 5s, timeout: 1s, fail_after: 3, recover_after: 2, max_block_lag: 5 }");
        await using var client = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress, "/test");
        var id = await client.SubscribeAsync("""["newHeads"]""");
        var heads = new List<long>();
        await CollectAsync(client, id, heads, until: () => heads.Count >= 2, TimeSpan.FromSeconds(10));
        var serving = await bed.WaitForServingAsync();
        var lastBeforePause = heads[^1];

        bed.Node(serving).Pause();
        var paused = Stopwatch.StartNew();
        await CollectAsync(client, id, heads, until: () => heads[^1] > lastBeforePause + 1, TimeSpan.FromSeconds(10));
        var resumedAfter = paused.Elapsed;

        // Stall window 2 s + up to one block for the next head + scheduling slack on a shared CI box.
        Assert.True(resumedAfter < TimeSpan.FromSeconds(6), $"heads resumed only after {resumedAfter}");
        Assert.Contains(bed.Journal.Entries, e => e is { Kind: "failover", Method: "eth_subscribe", Reason: "stalled" } && e.Upstream == serving);
        Assert.NotEqual(serving, await bed.WaitForServingAsync());
        await CollectAsync(client, id, heads, until: () => false, TimeSpan.FromSeconds(2));
        AssertConsecutive(heads);
    }

    [Fact]
    public async Task A_lagging_serving_node_is_left_and_the_missed_heads_are_fetched_in_order()
    {
        await using var bed = await SubscriptionBed.StartAsync(2, blockTimeSeconds: null);
        await using var client = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress);
        var id = await client.SubscribeAsync("""["newHeads"]""");
        var serving = await bed.WaitForServingAsync();
        var other = serving == "a" ? "b" : "a";
        var heads = new List<long>();
        await Task.WhenAll(bed.Nodes.Select(n => n.MineAsync(2)));
        await CollectAsync(client, id, heads, until: () => heads.Count >= 2, TimeSpan.FromSeconds(10));

        // The other node runs 10 blocks ahead: the serving one is now lagging and must be left.
        await bed.Node(other).MineAsync(10);
        for (var i = 0; i < 100 && await bed.ServingAsync() != other; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(other, await bed.ServingAsync());
        await bed.Node(other).MineAsync(1);
        await CollectAsync(client, id, heads, until: () => heads[^1] >= 13, TimeSpan.FromSeconds(10));

        Assert.Equal(Enumerable.Range(1, 13).Select(i => (long)i), heads);
        Assert.Contains(bed.Journal.Entries, e => e is { Kind: "failover", Method: "eth_subscribe", Reason: "lagging" } && e.Upstream == serving);
    }

    internal static async Task CollectAsync(WsTestClient client, string id, List<long> heads, Func<bool> until, TimeSpan duration)
    {
        var deadline = DateTime.UtcNow + duration;
        while (DateTime.UtcNow < deadline && !until())
        {
            var next = await client.NextNotificationAsync(deadline - DateTime.UtcNow);
            if (next is not { } notification)
            {
                break;
            }

            var parameters = notification.GetProperty("params");
            Assert.Equal(id, parameters.GetProperty("subscription").GetString());
            heads.Add(Number(parameters.GetProperty("result")));
        }
    }

    internal static long Number(JsonElement head) => Convert.ToInt64(head.GetProperty("number").GetString(), 16);

    internal static void AssertConsecutive(IReadOnlyList<long> heads)
    {
        for (var i = 1; i < heads.Count; i++)
        {
            Assert.True(heads[i] == heads[i - 1] + 1, $"heads not strictly consecutive at {i}: {string.Join(',', heads)}");
        }
    }
}
