using System.Numerics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Nethereum.Signer;
using RpcShield.Journal;
using RpcShield.IntegrationTests.Infrastructure;

namespace RpcShield.IntegrationTests.Features.Broadcast;

/// <summary>eth_sendRawTransaction reaches every node; repeats are success; total rejection passes the node's words on.</summary>
public sealed class BroadcastTests
{
    private const string Recipient = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    private static string Sign(string key, int nonce, BigInteger value) =>
        "0x" + new LegacyTransactionSigner().SignTransaction(key, new BigInteger(31337), Recipient, value, nonce, new BigInteger(2_000_000_000), new BigInteger(21_000));

    [Fact]
    public async Task A_raw_transaction_reaches_all_three_nodes_and_a_repeat_returns_the_same_hash()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var c = await AnvilNode.StartAsync();
        var journal = new RecordingJournal();
        await using var proxy = await ProxyUnderTest.StartAsync(
            ResilienceYaml.Chain([("a", a.Url, "primary"), ("b", b.Url, "primary"), ("c", c.Url, "primary")]),
            services: s => s.AddSingleton<IFailureJournal>(journal));

        var raw = Sign(AnvilNode.DevKey0, nonce: 0, value: 12345);
        var reply = await Rpc.CallAsync(proxy, "eth_sendRawTransaction", $"[\"{raw}\"]");
        Assert.False(reply.IsError, reply.Body.ToString());
        var hash = reply.Result.GetString()!;
        Assert.Matches("^0x[0-9a-f]{64}$", hash);

        // The others complete in the background: every node ends up with the very same transaction.
        foreach (var node in new[] { a, b, c })
        {
            await Rpc.WaitUntilAsync(async () => (await node.CallAsync("eth_getTransactionByHash", hash)).ValueKind == JsonValueKind.Object, $"tx on {node.Url}");
            var tx = await node.CallAsync("eth_getTransactionByHash", hash);
            Assert.Equal(hash, tx.GetProperty("hash").GetString());
        }

        var repeat = await Rpc.CallAsync(proxy, "eth_sendRawTransaction", $"[\"{raw}\"]");
        Assert.False(repeat.IsError, repeat.Body.ToString());
        Assert.Equal(hash, repeat.Result.GetString());

        await Rpc.WaitUntilAsync(async () => await Rpc.MetricAsync(proxy, "rpcshield_broadcasts_total") >= 6, "six broadcast outcomes");
        Assert.Equal(3, await Rpc.MetricAsync(proxy, "rpcshield_broadcasts_total", ("outcome", "accepted")));
        Assert.Equal(3, await Rpc.MetricAsync(proxy, "rpcshield_broadcasts_total", ("outcome", "known")));
        var entries = journal.Entries.Where(e => e.Kind == "broadcast").ToArray();
        Assert.Equal(6, entries.Length);
        Assert.All(entries, e => Assert.Equal(hash, e.TxHash));
        Assert.Equal(["a", "a", "b", "b", "c", "c"], entries.Select(e => e.Upstream!).Order().ToArray());
    }

    [Fact]
    public async Task When_every_node_rejects_the_client_gets_the_node_error_not_a_generic_one()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain([("a", a.Url, "primary"), ("b", b.Url, "primary")]));

        // A key with no funds: every node rejects the transaction for insufficient funds.
        var broke = "0x" + Convert.ToHexStringLower(Enumerable.Repeat((byte)0x42, 32).ToArray());
        var reply = await Rpc.CallAsync(proxy, "eth_sendRawTransaction", $"[\"{Sign(broke, 0, 1)}\"]");
        Assert.True(reply.IsError);
        Assert.NotEqual(-32090, reply.ErrorCode);
        Assert.Contains("insufficient funds", reply.ErrorMessage, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(42, reply.Body.GetProperty("id").GetInt32());
        await Rpc.WaitUntilAsync(async () => await Rpc.MetricAsync(proxy, "rpcshield_broadcasts_total", ("outcome", "rejected")) == 2, "two rejections counted");
    }

    [Fact]
    public async Task Malformed_raw_transactions_get_invalid_params()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain([("a", a.Url, "primary")]));
        var reply = await Rpc.CallAsync(proxy, "eth_sendRawTransaction", "[\"0xnothex\"]");
        Assert.Equal(-32602, reply.ErrorCode);
    }
}
