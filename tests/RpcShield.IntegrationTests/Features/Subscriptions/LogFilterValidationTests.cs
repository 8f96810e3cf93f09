namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>
/// Attack: `eth_subscribe` `logs` with a filter the node refuses (`"address":"0xzz"`) used to be
/// accepted and never deliver. Now it is -32602 before anything is subscribed.
/// </summary>
public sealed class LogFilterValidationTests
{
    [Fact]
    public async Task Invalid_logs_filters_are_32602_and_subscribe_nothing_while_valid_ones_subscribe()
    {
        await using var bed = await SubscriptionBed.StartAsync(1, blockTimeSeconds: null);
        await using var client = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress, "/test");
        string[] invalid =
        [
            """{"address":"0xzz"}""",
            """{"address":["0x5FbDB2315678afecb367f032d93F642f64180aa3","0x12"]}""",
            """{"address":42}""",
            """{"topics":["0x1234"]}""",
            """{"topics":[null,null,null,null,null]}""",
            """{"topics":[["0xzz00000000000000000000000000000000000000000000000000000000000000"]]}""",
            """{"topics":"0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"}""",
            """{"fromBlock":"yesterday"}""",
            """{"toBlock":"0xnope"}""",
            """{"blockHash":"0x00"}""",
        ];
        foreach (var filter in invalid)
        {
            var reply = await client.CallAsync("eth_subscribe", $"[\"logs\",{filter}]");
            Assert.True(reply.TryGetProperty("error", out var error), $"{filter} was accepted: {reply}");
            Assert.Equal(-32602, error.GetProperty("code").GetInt32());
            Assert.StartsWith("logs filter", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(0, await bed.MetricAsync("rpcshield_ws_subscriptions{chain=\"test\"}"));

        // Filters nodes accept still subscribe.
        await client.SubscribeAsync("""["logs",{"address":"0x5FbDB2315678afecb367f032d93F642f64180aa3","topics":[null,["0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"]],"fromBlock":"latest"}]""");
        await client.SubscribeAsync("""["logs",{}]""");
        Assert.Equal(2, await bed.MetricAsync("rpcshield_ws_subscriptions{chain=\"test\"}"));
    }
}
