using RpcShield.Configuration;

namespace RpcShield.Tests.Features.Subscriptions;

public sealed class SubscriptionOptionsTests
{
    private const string Base = """
        server: { listen: http://127.0.0.1:8545, websocket: { max_subscriptions_per_connection: 5, send_queue: 16, ping_interval: 5s } }
        chains:
          - name: main
            chain_id: 1
            upstreams:
              - { name: a, url: "http://127.0.0.1:1", ws_url: "ws://127.0.0.1:1" }
            routing:
              subscriptions: { block_time: 2s, stall_after: 2.5 }
        """;

    [Fact]
    public void Subscription_and_websocket_keys_bind()
    {
        var result = ConfigLoader.LoadText(Base);
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var options = result.Options!;
        Assert.Equal(5, options.Server.Websocket.MaxSubscriptionsPerConnection);
        Assert.Equal(16, options.Server.Websocket.SendQueue);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Server.Websocket.PingInterval);
        Assert.Equal(TimeSpan.FromSeconds(2), options.Chains[0].Routing.Subscriptions.BlockTime);
        Assert.Equal(2.5, options.Chains[0].Routing.Subscriptions.StallAfter);
    }

    [Fact]
    public void Bad_values_are_reported_with_their_key_path()
    {
        var yaml = Base.Replace("stall_after: 2.5", "stall_after: 0.5", StringComparison.Ordinal)
            .Replace("send_queue: 16", "send_queue: 0", StringComparison.Ordinal);
        var result = ConfigLoader.LoadText(yaml);
        Assert.False(result.IsValid);
        var text = string.Join("\n", result.Errors);
        Assert.Contains("chains[0].routing.subscriptions.stall_after", text, StringComparison.Ordinal);
        Assert.Contains("server.websocket.send_queue", text, StringComparison.Ordinal);
    }
}
