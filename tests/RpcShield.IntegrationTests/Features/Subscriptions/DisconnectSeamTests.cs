using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.Features.Subscriptions;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>The seam the chaos `ws_disconnect` fault uses: dropped sockets behave like real network loss.</summary>
public sealed class DisconnectSeamTests
{
    [Fact]
    public async Task A_dropped_upstream_socket_on_the_only_upstream_is_re_established_without_gaps()
    {
        await using var bed = await SubscriptionBed.StartAsync(1);
        var hub = bed.Proxy.Services.GetRequiredService<SubscriptionHub>();
        await using var client = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress);
        var id = await client.SubscribeAsync("""["newHeads"]""");
        var heads = new List<long>();
        await HeadFailoverTests.CollectAsync(client, id, heads, until: () => heads.Count >= 2, TimeSpan.FromSeconds(10));

        Assert.Equal(1, hub.DisconnectUpstreams("test", "a"));
        Assert.Equal(0, hub.DisconnectUpstreams("test", "nonexistent"));
        var before = heads.Count;
        await HeadFailoverTests.CollectAsync(client, id, heads, until: () => heads.Count >= before + 3, TimeSpan.FromSeconds(10));

        Assert.True(heads.Count >= before + 3, "heads did not resume: " + string.Join(',', heads));
        HeadFailoverTests.AssertConsecutive(heads);
        Assert.Contains(bed.Journal.Entries, e => e is { Kind: "failover", Method: "eth_subscribe", Upstream: "a" });
    }

    [Fact]
    public async Task Dropping_a_chains_client_sockets_removes_their_subscriptions()
    {
        await using var bed = await SubscriptionBed.StartAsync(1);
        var hub = bed.Proxy.Services.GetRequiredService<SubscriptionHub>();
        await using var client = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress);
        await client.SubscribeAsync("""["newHeads"]""");
        Assert.Equal(1, hub.ActiveSubscriptions);

        Assert.Equal(1, hub.DisconnectClients("test"));
        for (var i = 0; i < 50 && (hub.ActiveSubscriptions > 0 || client.State == WebSocketState.Open); i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(0, hub.ActiveSubscriptions);
        Assert.NotEqual(WebSocketState.Open, client.State);
        await bed.WaitForAsync(s => s.GetProperty("chains")[0].GetProperty("subscriptions").GetProperty("feeds").GetArrayLength() == 0);
    }
}
