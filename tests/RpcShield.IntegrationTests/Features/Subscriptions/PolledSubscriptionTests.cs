using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nethereum.Signer;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.IntegrationTests.Sandbox;
using RpcShield.Features.Subscriptions;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>
/// `eth_subscribe` with no upstream that has a `ws_url`, as with the shipped proxy.yaml over the
/// sandbox (node endpoints reached over HTTP only): `newHeads` and `logs` are synthesised from HTTP
/// polling, every block once and in order, in the node's own notification shape.
/// </summary>
public sealed class PolledSubscriptionTests
{
    private const string Emitter = "0x00000000000000000000000000000000000e1e17";
    private const string Topic = "0x5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
    private const string OtherTopic = "0x7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a";

    /// <summary>PUSH32 topic, PUSH1 0 (size), PUSH1 0 (offset), LOG1, STOP.</summary>
    private const string EmitterCode = "0x7f" + "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e" + "60006000a100";

    /// <summary>Header fields every node's `newHeads` carries (geth's header JSON).</summary>
    private static readonly string[] HeaderFields =
        ["hash", "parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot", "logsBloom", "difficulty", "number", "gasLimit", "gasUsed", "timestamp", "extraData", "mixHash", "nonce", "baseFeePerGas"];

    [Fact]
    public async Task NewHeads_without_a_websocket_upstream_deliver_every_sandbox_block_once_in_order_in_the_nodes_shape()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(slot: TimeSpan.FromSeconds(1), autoSeal: true);
        // The chain's own WebSocket (anvil's) is the reference a node-backed subscription would give.
        await using var reference = await WsTestClient.ConnectAsync(sandbox.Network.AnvilUrl);
        await reference.SubscribeAsync("""["newHeads"]""");
        await using var client = await WsTestClient.ConnectAsync(sandbox.Proxy.BaseAddress!);
        var id = await client.SubscribeAsync("""["newHeads"]""");

        var received = await CollectAsync(client, 5, TimeSpan.FromSeconds(30));
        Assert.True(received.Count >= 5, $"only {received.Count} heads arrived");
        foreach (var notification in received)
        {
            Assert.Equal(["jsonrpc", "method", "params"], notification.EnumerateObject().Select(p => p.Name));
            Assert.Equal("2.0", notification.GetProperty("jsonrpc").GetString());
            Assert.Equal("eth_subscription", notification.GetProperty("method").GetString());
            Assert.Equal(["subscription", "result"], notification.GetProperty("params").EnumerateObject().Select(p => p.Name));
            Assert.Equal(id, notification.GetProperty("params").GetProperty("subscription").GetString());
        }

        var heads = received.Select(n => n.GetProperty("params").GetProperty("result")).ToList();
        HeadFailoverTests.AssertConsecutive(heads.Select(HeadFailoverTests.Number).ToList());

        // Each header is the node's own: every field equals what anvil's WebSocket sent for that block.
        var last = HeadFailoverTests.Number(heads[^1]);
        var nodeHeads = new Dictionary<long, JsonElement>();
        while (!nodeHeads.ContainsKey(last) && await reference.NextNotificationAsync(TimeSpan.FromSeconds(10)) is { } n)
        {
            var head = n.GetProperty("params").GetProperty("result");
            nodeHeads[HeadFailoverTests.Number(head)] = head;
        }

        foreach (var head in heads)
        {
            var number = HeadFailoverTests.Number(head);
            Assert.True(nodeHeads.TryGetValue(number, out var nodeHead), $"anvil sent no head {number}");
            Assert.All(HeaderFields, f => Assert.True(head.TryGetProperty(f, out _), $"header {number} lacks {f}: {head}"));
            Assert.False(head.TryGetProperty("transactions", out _), "a header carries no transactions");
            foreach (var field in head.EnumerateObject())
            {
                Assert.Equal(nodeHead.GetProperty(field.Name).GetRawText(), field.Value.GetRawText());
            }
        }

        var feed = await FeedStatus.SourceAsync(sandbox.Proxy, "http_poll");
        Assert.StartsWith("node-", feed.GetProperty("upstream").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_npm_ws_client_receives_every_sandbox_block_without_a_websocket_upstream()
    {
        var module = await NodeWsClient.ModuleDirectoryAsync();
        await using var sandbox = await SandboxUnderTest.StartAsync(slot: TimeSpan.FromSeconds(1), autoSeal: true);
        var lines = new NodeWsLines();
        var url = new UriBuilder(sandbox.Proxy.BaseAddress!) { Scheme = "ws", Path = "/test" }.Uri;
        using var process = NodeWsClient.Start(module, url, TimeSpan.FromSeconds(7), lines.Add);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        var numbers = lines.AssertHeads();
        Assert.True(numbers.Count >= 3, "too few heads: " + lines);
        HeadFailoverTests.AssertConsecutive(numbers);
    }

    [Fact]
    public async Task Logs_without_a_websocket_upstream_deliver_each_matching_log_once()
    {
        await using var sandbox = await SandboxUnderTest.StartAsync(slot: TimeSpan.FromSeconds(1), autoSeal: true);
        await sandbox.AnvilAsync("anvil_setCode", $"""["{Emitter}","{EmitterCode}"]""");
        await using var client = await WsTestClient.ConnectAsync(sandbox.Proxy.BaseAddress!);
        var id = await client.SubscribeAsync($$"""["logs",{"address":"{{Emitter}}","topics":["{{Topic}}"]}]""");
        var other = await client.SubscribeAsync($$"""["logs",{"address":"{{Emitter}}","topics":["{{OtherTopic}}"]}]""");

        // Transactions through RpcShield over several slots, so logs arrive in several blocks.
        const int total = 8;
        var sent = new List<string>();
        for (var nonce = 0; nonce < total; nonce++)
        {
            var raw = "0x" + new LegacyTransactionSigner().SignTransaction(AnvilNode.DevKey0, new BigInteger(31337), Emitter, BigInteger.Zero, new BigInteger(nonce), new BigInteger(5_000_000_000), new BigInteger(100_000), "0x");
            var (body, _, _) = await sandbox.RpcAsync("eth_sendRawTransaction", $"[\"{raw}\"]");
            Assert.True(body.TryGetProperty("result", out var hash), body.ToString());
            sent.Add(hash.GetString()!);
            await Task.Delay(300);
        }

        var blocks = new Dictionary<string, (string Block, string Index)>();
        foreach (var hash in sent)
        {
            var receipt = await WaitReceiptAsync(sandbox, hash);
            var log = Assert.Single(receipt.GetProperty("logs").EnumerateArray());
            blocks[hash] = (log.GetProperty("blockHash").GetString()!, log.GetProperty("logIndex").GetString()!);
        }

        var received = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(6);
        while (DateTime.UtcNow < deadline && received.Count <= total)
        {
            if (await client.NextNotificationAsync(deadline - DateTime.UtcNow) is not { } notification)
            {
                break;
            }

            var parameters = notification.GetProperty("params");
            Assert.Equal(id, parameters.GetProperty("subscription").GetString());
            Assert.NotEqual(other, parameters.GetProperty("subscription").GetString());
            var log = parameters.GetProperty("result");
            Assert.False(log.TryGetProperty("removed", out var removed) && removed.GetBoolean(), "unexpected removed log: " + log);
            Assert.Equal(Emitter, log.GetProperty("address").GetString(), ignoreCase: true);
            var tx = log.GetProperty("transactionHash").GetString()!;
            Assert.Equal(blocks[tx], (log.GetProperty("blockHash").GetString()!, log.GetProperty("logIndex").GetString()!));
            received.Add(tx);
        }

        Assert.Equal(sent.Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
        Assert.True(blocks.Values.Select(b => b.Block).Distinct().Count() > 1, "the logs should span several blocks");
    }

    [Fact]
    public async Task A_reorg_is_delivered_as_the_nodes_own_websocket_delivers_it()
    {
        await using var node = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)]));
        await proxy.WaitRoutableAsync(1);
        await using var reference = await WsTestClient.ConnectAsync(new Uri(node.Url));
        await reference.SubscribeAsync("""["newHeads"]""");
        await using var client = await WsTestClient.ConnectAsync(proxy.BaseAddress);
        await client.SubscribeAsync("""["newHeads"]""");
        await FeedStatus.SourceAsync(proxy.Client, "http_poll");

        await node.MineAsync(3);
        var ours = await CollectAsync(client, 3, TimeSpan.FromSeconds(15));
        await node.CallAsync("anvil_reorg", 2, Array.Empty<object>());
        await node.MineAsync(1);
        ours.AddRange(await CollectAsync(client, 3, TimeSpan.FromSeconds(15)));
        var theirs = await CollectAsync(reference, 6, TimeSpan.FromSeconds(15));

        static (long, string) Head(JsonElement n)
        {
            var head = n.GetProperty("params").GetProperty("result");
            return (HeadFailoverTests.Number(head), head.GetProperty("hash").GetString()!);
        }

        // 1, 2, 3, then the new chain's 2', 3' from the fork point, then 4.
        Assert.Equal([1, 2, 3, 2, 3, 4], ours.Select(n => Head(n).Item1));
        Assert.Equal(theirs.Select(Head), ours.Select(Head));
        Assert.Null(await client.NextNotificationAsync(TimeSpan.FromMilliseconds(800)));
    }

    [Fact]
    public async Task A_reorg_sends_the_replaced_blocks_logs_again_with_removed_true()
    {
        await using var node = await AnvilNode.StartAsync();
        await node.CallAsync("anvil_setCode", Emitter, EmitterCode);
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)]));
        await proxy.WaitRoutableAsync(1);
        await using var client = await WsTestClient.ConnectAsync(proxy.BaseAddress);
        var id = await client.SubscribeAsync($$"""["logs",{"address":"{{Emitter}}"}]""");
        await FeedStatus.SourceAsync(proxy.Client, "http_poll");

        var tx = (await node.CallAsync("eth_sendTransaction", new { from = AnvilNode.DevAddress0, to = Emitter, gas = "0x186a0" })).GetString();
        var delivered = Assert.Single(await CollectAsync(client, 1, TimeSpan.FromSeconds(15))).GetProperty("params").GetProperty("result");
        Assert.Equal(tx, delivered.GetProperty("transactionHash").GetString());
        Assert.False(delivered.GetProperty("removed").GetBoolean());

        // The block holding the log is replaced by an empty one: the log is taken back, as a node does.
        await node.CallAsync("anvil_reorg", 1, Array.Empty<object>());
        var removed = Assert.Single(await CollectAsync(client, 1, TimeSpan.FromSeconds(15))).GetProperty("params");
        Assert.Equal(id, removed.GetProperty("subscription").GetString());
        Assert.True(removed.GetProperty("result").GetProperty("removed").GetBoolean());
        Assert.Equal(tx, removed.GetProperty("result").GetProperty("transactionHash").GetString());
        Assert.Equal(delivered.GetProperty("blockHash").GetString(), removed.GetProperty("result").GetProperty("blockHash").GetString());
        Assert.Null(await client.NextNotificationAsync(TimeSpan.FromMilliseconds(800)));
    }

    [Fact]
    public async Task Heads_are_polled_when_no_websocket_upstream_is_reachable()
    {
        await using var node = await AnvilNode.StartAsync(blockTimeSeconds: 1);
        var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await using var proxy = await ProxyUnderTest.StartAsync(Yaml.Chain([("a", node.Url)], wsUrl: _ => $"ws://127.0.0.1:{port}"));
        await proxy.WaitRoutableAsync(1);
        await using var client = await WsTestClient.ConnectAsync(proxy.BaseAddress);
        var id = await client.SubscribeAsync("""["newHeads"]""");

        var heads = new List<long>();
        await HeadFailoverTests.CollectAsync(client, id, heads, until: () => heads.Count >= 3, TimeSpan.FromSeconds(20));
        Assert.True(heads.Count >= 3, "too few heads: " + string.Join(',', heads));
        HeadFailoverTests.AssertConsecutive(heads);
        Assert.Equal("a", (await FeedStatus.SourceAsync(proxy.Client, "http_poll")).GetProperty("upstream").GetString());
    }

    [Fact]
    public async Task A_subscription_that_no_upstream_can_feed_gets_an_error_at_subscribe_time()
    {
        await using var node = await AnvilNode.StartAsync();
        var yaml = Yaml.Chain([("a", node.Url)]) + $$"""

              - name: nologs
                chain_id: 31337
                upstreams:
                  - { name: b, url: "{{node.Url}}", methods: { deny: ["eth_getLogs"] } }
            """;
        await using var proxy = await ProxyUnderTest.StartAsync(yaml);
        await using var client = await WsTestClient.ConnectAsync(proxy.BaseAddress, "/test");

        var pending = await client.CallAsync("eth_subscribe", """["newPendingTransactions"]""");
        Assert.Equal(-32090, pending.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("ws_url", pending.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("no_ws_url", pending.GetProperty("error").GetProperty("data").GetProperty("attempts")[0].GetProperty("reason").GetString());

        await using var nologs = await WsTestClient.ConnectAsync(proxy.BaseAddress, "/nologs");
        var logs = await nologs.CallAsync("eth_subscribe", $$"""["logs",{"address":"{{Emitter}}"}]""");
        Assert.Equal(-32090, logs.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("eth_getLogs", logs.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        Assert.Equal(0, proxy.Services.GetRequiredService<SubscriptionHub>().ActiveSubscriptions);
        // What can be fed is accepted on the same chains.
        Assert.True((await nologs.CallAsync("eth_subscribe", """["newHeads"]""")).TryGetProperty("result", out _));
        Assert.True((await client.CallAsync("eth_subscribe", $$"""["logs",{"address":"{{Emitter}}"}]""")).TryGetProperty("result", out _));
    }

    private static async Task<List<JsonElement>> CollectAsync(WsTestClient client, int count, TimeSpan timeout)
    {
        var received = new List<JsonElement>();
        var deadline = DateTime.UtcNow + timeout;
        while (received.Count < count && DateTime.UtcNow < deadline && await client.NextNotificationAsync(deadline - DateTime.UtcNow) is { } notification)
        {
            received.Add(notification);
        }

        return received;
    }

    private static async Task<JsonElement> WaitReceiptAsync(SandboxUnderTest sandbox, string hash)
    {
        for (var i = 0; i < 150; i++)
        {
            var receipt = (await sandbox.AnvilAsync("eth_getTransactionReceipt", $"[\"{hash}\"]")).GetProperty("result");
            if (receipt.ValueKind == JsonValueKind.Object)
            {
                return receipt;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"transaction {hash} was never mined");
        return default;
    }
}
