using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Features.Subscriptions;

namespace RpcShield.IntegrationTests.Sandbox;

/// <summary>Sandbox node endpoints serve WebSocket too (relayed to anvil's), so `ws_url` can point at them.</summary>
public sealed class SandboxNodeWebSocketTests
{
    [Fact]
    public async Task A_node_endpoint_accepts_a_websocket_relays_requests_and_subscriptions_and_goes_silent_when_stalled_or_stopped()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(slot: TimeSpan.FromSeconds(1), autoSeal: true, withProxy: false);
        var node = sandbox.Network.Node("node-a")!;
        await using var client = await WsTestClient.ConnectAsync(new Uri($"http://127.0.0.1:{node.Port}"));

        var number = await client.CallAsync("eth_blockNumber");
        Assert.StartsWith("0x", number.GetProperty("result").GetString(), StringComparison.Ordinal);
        var id = await client.SubscribeAsync("""["newHeads"]""");
        var heads = new List<long>();
        await HeadFailoverTests.CollectAsync(client, id, heads, until: () => heads.Count >= 2, TimeSpan.FromSeconds(15));
        Assert.True(heads.Count >= 2, "no heads relayed: " + string.Join(',', heads));
        HeadFailoverTests.AssertConsecutive(heads);

        // Stalled: the socket stays open and says nothing (a hung node); healed: heads flow again.
        node.Stall();
        await Task.Delay(200);
        while (await client.NextNotificationAsync(TimeSpan.FromMilliseconds(100)) is not null)
        {
            // Drain what was relayed before the stall took effect.
        }

        Assert.Null(await client.NextNotificationAsync(TimeSpan.FromSeconds(2.5)));
        await node.HealAsync(CancellationToken.None);
        Assert.NotNull(await client.NextNotificationAsync(TimeSpan.FromSeconds(10)));

        // Stopped: the socket is dropped, like a dead node's.
        await node.StopAsync();
        for (var i = 0; i < 50 && client.State == WebSocketState.Open; i++)
        {
            await Task.Delay(100);
        }

        Assert.NotEqual(WebSocketState.Open, client.State);
    }

    [Fact]
    public async Task RpcShield_with_ws_url_on_the_sandbox_nodes_subscribes_over_websocket_and_moves_when_the_node_stops()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(slot: TimeSpan.FromSeconds(1), autoSeal: true, withProxy: false);
        var yaml = Yaml.Chain(
            sandbox.Network.Nodes.Select(n => (n.Name, $"http://127.0.0.1:{n.Port}")),
            extraRouting: "      subscriptions: { block_time: 1s, stall_after: 3 }",
            wsUrl: name => $"ws://127.0.0.1:{sandbox.Network.Node(name)!.Port}");
        await using var proxy = await ProxyUnderTest.StartAsync(yaml);
        await proxy.WaitRoutableAsync(3);
        await using var client = await WsTestClient.ConnectAsync(proxy.BaseAddress);
        var id = await client.SubscribeAsync("""["newHeads"]""");
        var heads = new List<long>();
        await HeadFailoverTests.CollectAsync(client, id, heads, until: () => heads.Count >= 2, TimeSpan.FromSeconds(15));
        var feed = await FeedStatus.SourceAsync(proxy.Client, "ws");
        var serving = feed.GetProperty("upstream").GetString()!;

        await sandbox.Network.Node(serving)!.StopAsync();
        var before = heads.Count;
        await HeadFailoverTests.CollectAsync(client, id, heads, until: () => heads.Count >= before + 3, TimeSpan.FromSeconds(20));

        Assert.True(heads.Count >= before + 3, "heads did not resume: " + string.Join(',', heads));
        HeadFailoverTests.AssertConsecutive(heads);
        await FeedStatus.WaitAsync(proxy.Client, f => f.GetProperty("source").GetString() == "ws" && f.GetProperty("upstream").GetString() is { } now && now != serving);
    }
}
