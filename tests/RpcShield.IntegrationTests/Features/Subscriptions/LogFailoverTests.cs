using System.Numerics;
using System.Text.Json;
using Nethereum.Signer;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Features.Subscriptions;

/// <summary>
/// `logs` with a filter over three anvil nodes fed the same signed transactions (a tiny contract
/// that emits LOG1 on every call, installed at the same address on each node).
/// </summary>
public sealed class LogFailoverTests
{
    private const string Emitter = "0x00000000000000000000000000000000000e1e17";
    private const string Topic = "0x5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

    /// <summary>PUSH32 topic, PUSH1 0 (size), PUSH1 0 (offset), LOG1, STOP.</summary>
    private const string EmitterCode = "0x7f" + "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e" + "60006000a100";

    [Fact]
    public async Task Every_log_arrives_exactly_once_when_the_serving_node_is_killed_while_events_are_emitted()
    {
        await using var bed = await SubscriptionBed.StartAsync(3, prepare: nodes => Task.WhenAll(nodes.Select(n => n.CallAsync("anvil_setCode", Emitter, EmitterCode))));
        await using var client = await WsTestClient.ConnectAsync(bed.Proxy.BaseAddress);
        var id = await client.SubscribeAsync($$"""["logs",{"address":"{{Emitter}}","topics":["{{Topic}}"]}]""");
        var serving = await bed.WaitForServingAsync();

        const int total = 16;
        var sent = new List<string>();
        for (var nonce = 0; nonce < total; nonce++)
        {
            if (nonce == 6)
            {
                bed.Node(serving).Kill();
            }

            var raw = "0x" + new LegacyTransactionSigner().SignTransaction(AnvilNode.DevKey0, new BigInteger(31337), Emitter, BigInteger.Zero, new BigInteger(nonce), new BigInteger(3_000_000_000), new BigInteger(100_000), "0x");
            string? hash = null;
            foreach (var node in bed.Nodes.Where(n => n.IsRunning))
            {
                hash = (await node.CallAsync("eth_sendRawTransaction", raw)).GetString();
            }

            sent.Add(hash!);
            await Task.Delay(350);
        }

        // Wait until every live node mined every transaction, then give delivery a moment.
        foreach (var node in bed.Nodes.Where(n => n.IsRunning))
        {
            await WaitMinedAsync(node, sent[^1]);
        }

        var received = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(4);
        while (DateTime.UtcNow < deadline)
        {
            if (await client.NextNotificationAsync(deadline - DateTime.UtcNow) is not { } notification)
            {
                break;
            }

            var parameters = notification.GetProperty("params");
            Assert.Equal(id, parameters.GetProperty("subscription").GetString());
            var log = parameters.GetProperty("result");
            Assert.False(log.TryGetProperty("removed", out var removed) && removed.GetBoolean(), "unexpected removed log: " + log);
            Assert.Equal(Emitter, log.GetProperty("address").GetString(), ignoreCase: true);
            received.Add(log.GetProperty("transactionHash").GetString()!);
        }

        Assert.Equal(sent.Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
        Assert.NotEqual(serving, await bed.WaitForServingAsync());
    }

    private static async Task WaitMinedAsync(AnvilNode node, string hash)
    {
        for (var i = 0; i < 100; i++)
        {
            if ((await node.CallAsync("eth_getTransactionReceipt", hash)).ValueKind == JsonValueKind.Object)
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"transaction {hash} not mined on {node.Url}");
    }
}
