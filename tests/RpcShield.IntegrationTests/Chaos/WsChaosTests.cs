using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Features.Subscriptions;
using RpcShield.Features.Subscriptions;
using static RpcShield.IntegrationTests.Chaos.ChaosHttp;

namespace RpcShield.IntegrationTests.Chaos;

/// <summary>`ws_disconnect` through the admin API drops a real client WebSocket of a real proxy.</summary>
public sealed class WsChaosTests
{
    [Fact]
    public async Task A_client_ws_disconnect_rule_drops_the_bots_socket_and_is_counted()
    {
        await using var node = await AnvilNode.StartAsync(blockTimeSeconds: 1);
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)], extraTop: ChaosTop(enabled: false)));
        await proxy.WaitRoutableAsync(1);
        var hub = proxy.Services.GetRequiredService<SubscriptionHub>();
        await using var client = await WsTestClient.ConnectAsync(proxy.BaseAddress);
        await client.SubscribeAsync("""["newHeads"]""");
        Assert.Equal(1, hub.ActiveSubscriptions);

        (await AdminAsync(proxy, HttpMethod.Post, "/admin/chaos/rules", """{"name":"drop-bots","scope":"client","fault":"ws_disconnect","rate":1.0,"ttl":"1m"}""")).Dispose();
        (await AdminAsync(proxy, HttpMethod.Post, "/admin/chaos/arm")).Dispose();

        for (var i = 0; i < 50 && client.State == WebSocketState.Open; i++)
        {
            await Task.Delay(100);
        }

        Assert.NotEqual(WebSocketState.Open, client.State);
        Assert.True(await InjectionsAsync(proxy, "drop-bots") >= 1);
        (await AdminAsync(proxy, HttpMethod.Post, "/admin/chaos/halt")).Dispose();
    }
}
