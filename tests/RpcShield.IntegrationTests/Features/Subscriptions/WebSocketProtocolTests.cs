using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>JSON-RPC over WebSocket: routing, ids, errors, limits and clean-up, over one real anvil.</summary>
public sealed class WebSocketProtocolTests
{
    [Fact]
    public async Task Requests_over_the_socket_are_routed_like_http_and_answered_with_the_clients_ids()
    {
        await using var bed = await SubscriptionBed.StartAsync(1, blockTimeSeconds: null);
        await using var client = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress, "/test");

        var single = client.Expect("\"abc\"");
        await client.SendRawAsync("""{"jsonrpc":"2.0","id":"abc","method":"eth_chainId","params":[]}""");
        Assert.Equal("0x7a69", (await single.WaitAsync(TimeSpan.FromSeconds(10))).GetProperty("result").GetString());

        await client.SendRawAsync("""[{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[]},{"jsonrpc":"2.0","id":"x","method":"eth_chainId","params":[]},{"jsonrpc":"2.0","method":"eth_chainId","params":[]}]""");
        var batch = await NextUnmatchedAsync(client);
        Assert.Equal(JsonValueKind.Array, batch.ValueKind);
        Assert.Equal(["7", "\"x\""], batch.EnumerateArray().Select(r => r.GetProperty("id").GetRawText()));
        Assert.Equal("0x7a69", batch[1].GetProperty("result").GetString());

        await client.SendRawAsync("""{"jsonrpc":"2.0","id":1,"method":""");
        Assert.Equal(-32700, (await NextUnmatchedAsync(client)).GetProperty("error").GetProperty("code").GetInt32());
        await client.SendRawAsync("[]");
        Assert.Equal(-32600, (await NextUnmatchedAsync(client)).GetProperty("error").GetProperty("code").GetInt32());

        var kind = await client.CallAsync("eth_subscribe", """["nonsense"]""");
        Assert.Equal(-32602, kind.GetProperty("error").GetProperty("code").GetInt32());
        var noParams = await client.CallAsync("eth_subscribe", "[]");
        Assert.Equal(-32602, noParams.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Plain_get_and_http_subscribe_get_clear_errors()
    {
        await using var bed = await SubscriptionBed.StartAsync(1, blockTimeSeconds: null);
        using var get = await bed.Proxy.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.BadRequest, get.StatusCode);
        var error = (await get.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal(-32600, error.GetProperty("code").GetInt32());
        Assert.Contains("WebSocket", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var unknown = await bed.Proxy.Client.GetAsync("/nochain");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        using var post = await bed.Proxy.Client.PostAsync("/", new StringContent("""{"jsonrpc":"2.0","id":3,"method":"eth_subscribe","params":["newHeads"]}""", Encoding.UTF8, "application/json"));
        var reply = await post.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, reply.GetProperty("id").GetInt32());
        Assert.Equal(-32601, reply.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("only available over WebSocket", reply.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Subscription_limits_unsubscribe_and_disconnect_clean_up_upstream()
    {
        await using var bed = await SubscriptionBed.StartAsync(1, blockTimeSeconds: 1, websocket: "{ max_subscriptions_per_connection: 2, max_subscriptions: 3 }");
        var first = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress);
        await using var second = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress);

        var a = await first.SubscribeAsync("""["newHeads"]""");
        var b = await first.SubscribeAsync("""["newPendingTransactions"]""");
        Assert.NotEqual(a, b);
        var perConnection = await first.CallAsync("eth_subscribe", """["newHeads"]""");
        Assert.Equal(-32005, perConnection.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("per connection", perConnection.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        await second.SubscribeAsync("""["newHeads"]""");
        var perProcess = await second.CallAsync("eth_subscribe", """["newHeads"]""");
        Assert.Contains("per process", perProcess.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, await bed.MetricAsync("rpcshield_ws_subscriptions{chain=\"test\"}"));

        // Two newHeads subscriptions share one upstream subscription.
        await bed.WaitForAsync(s => Feeds(s).Count(f => f.GetProperty("kind").GetString() == "newHeads" && f.GetProperty("clients").GetInt32() == 2 && f.GetProperty("upstream").GetString() == "a") == 1);

        Assert.True((await first.CallAsync("eth_unsubscribe", $"[\"{b}\"]")).GetProperty("result").GetBoolean());
        Assert.False((await first.CallAsync("eth_unsubscribe", $"[\"{b}\"]")).GetProperty("result").GetBoolean());
        Assert.False((await second.CallAsync("eth_unsubscribe", $"[\"{a}\"]")).GetProperty("result").GetBoolean());

        await first.CloseAsync();
        await first.DisposeAsync();
        await second.CloseAsync();
        await bed.WaitForAsync(s => Feeds(s).Count == 0);
        Assert.Equal(0, await bed.MetricAsync("rpcshield_ws_subscriptions{chain=\"test\"}"));
    }

    [Fact]
    public async Task A_message_over_max_body_bytes_gets_32093_and_the_socket_is_closed()
    {
        await using var bed = await SubscriptionBed.StartAsync(1, blockTimeSeconds: null, serverExtra: ", max_body_bytes: 2048");
        await using var client = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress);
        var padding = new string('0', 4096);
        await client.SendRawAsync($$"""{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"data":"0x{{padding}}"},"latest"]}""");
        var error = await NextUnmatchedAsync(client);
        Assert.Equal(-32093, error.GetProperty("error").GetProperty("code").GetInt32());
        for (var i = 0; i < 50 && client.State == WebSocketState.Open; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, client.CloseStatus);
    }

    private static List<JsonElement> Feeds(JsonElement status) =>
        [.. status.GetProperty("chains")[0].GetProperty("subscriptions").GetProperty("feeds").EnumerateArray()];

    private static async Task<JsonElement> NextUnmatchedAsync(WsTestClient client)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await client.Unmatched.Reader.ReadAsync(cts.Token);
    }
}
