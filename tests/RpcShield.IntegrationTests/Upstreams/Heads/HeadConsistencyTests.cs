using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using RpcShield.Chains;
using RpcShield.Upstreams.Heads;
using RpcShield.Upstreams.Health;
using RpcShield.IntegrationTests.Infrastructure;
using RpcShield.Journal;
using RpcShield.JsonRpc;

namespace RpcShield.IntegrationTests.Upstreams.Heads;

/// <summary>
/// Two independent anvil nodes from the same state; node "a" gets a transaction node "b" lacks.
/// Reads through RpcShield 50 ms later, with a 1 s health interval, must never show b's stale state.
/// </summary>
public sealed class HeadConsistencyTests
{
    private const string Health1s = "{ interval: 1s, timeout: 1s, fail_after: 3, recover_after: 2, max_block_lag: 2 }";
    private const string Recipient = "0x000000000000000000000000000000000000dEaD";

    [Theory]
    [InlineData("latest")]
    [InlineData("pending")]
    public async Task Nonce_reads_50ms_after_one_node_took_a_transaction_are_never_stale(string tag)
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        // b ranks first (tier): without the quorum it would answer every read.
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain([("b", b.Url, "primary"), ("a", a.Url, "fallback")], health: Health1s));
        await proxy.WaitRoutableAsync(2);

        for (var round = 1; round <= 2; round++)
        {
            if (tag == "pending" && round == 1)
            {
                await a.CallAsync("evm_setAutomine", false);
            }

            // "latest": mined on a (a is one block ahead of b, inside max_block_lag); "pending": only in a's mempool.
            await a.CallAsync("eth_sendTransaction", new { from = AnvilNode.DevAddress0, to = Recipient, value = "0x1" });
            // anvil may mine just after answering the send: "changed" is when a shows it.
            await Rpc.WaitUntilAsync(async () => (await a.CallAsync("eth_getTransactionCount", AnvilNode.DevAddress0, tag)).GetString() == Hex(round), "a to count the transaction");
            Assert.Equal("0x0", (await b.CallAsync("eth_getTransactionCount", AnvilNode.DevAddress0, tag)).GetString());
            await Task.Delay(50);

            var stale = new List<string>();
            for (var i = 0; i < 20; i++)
            {
                var reply = await Rpc.CallAsync(proxy, "eth_getTransactionCount", $"[\"{AnvilNode.DevAddress0}\",\"{tag}\"]");
                Assert.False(reply.IsError, reply.Body.ToString());
                if (reply.Result.GetString() != Hex(round))
                {
                    stale.Add($"{reply.Result.GetString()} from {reply.Upstream}");
                }
            }

            Assert.True(stale.Count == 0, $"round {round}: {stale.Count} of 20 reads were stale: {string.Join(", ", stale)}");
        }
    }

    [Fact]
    public async Task A_lagging_nodes_header_not_found_answers_to_pinned_reads_are_failed_over_never_returned()
    {
        await using var a = await AnvilNode.StartAsync();
        await using var b = await AnvilNode.StartAsync();
        await using var front = await FaultProxy.StartAsync(a.Url);
        await a.MineAsync(2);
        // b is two blocks behind: still healthy (max_block_lag 2) and ranked first by tier.
        await using var proxy = await ProxyUnderTest.StartAsync(ResilienceYaml.Chain(
            [("b", b.Url, "primary"), ("a", front.Url, "fallback")],
            routing: "hedge: { enabled: false }",
            health: Health1s));
        await proxy.WaitRoutableAsync(2);
        var chain = proxy.Services.GetRequiredService<ChainRegistry>().Default;
        await Rpc.WaitUntilAsync(() => Task.FromResult(chain.BestHead == 2), "the best head 2");
        var lagging = chain.Upstreams.Single(u => u.Name == "b");

        // Pinned to block 2: only a can answer it, so a serves although b ranks first.
        var read = await Rpc.BalanceAsync(proxy);
        Assert.False(read.IsError, read.Body.ToString());
        Assert.Equal("a", read.Upstream);

        // Every other read now fails on a (HTTP 500; probes and head polls still pass): it fails over
        // to b with the pinned number, which b does not have yet.
        front.Mode = FaultMode.Flap;
        var replies = new List<Rpc.Reply>();
        for (var i = 0; i < 10; i++)
        {
            replies.Add(await Rpc.BalanceAsync(proxy));
        }

        Assert.DoesNotContain(replies, r => r.IsError && r.ErrorMessage.Contains("header not found", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(replies, r => r.IsError && r.ErrorMessage.Contains("BlockOutOfRange", StringComparison.OrdinalIgnoreCase));
        Assert.All(replies.Where(r => r.IsError), r => Assert.Equal(RpcErrorCodes.NoUpstream, r.ErrorCode));
        Assert.All(replies.Where(r => !r.IsError), r => Assert.Equal("a", r.Upstream));
        Assert.Contains(replies, r => r.IsError);
        Assert.True(await Rpc.MetricAsync(proxy, "rpcshield_failovers_total", ("upstream", "b"), ("reason", "behind")) >= 1);
        Assert.Equal(HealthStatus.Healthy, lagging.Health.Status);
        Assert.Equal(0, lagging.Health.ConsecutiveFailures);

        // Once b has the block, pinned reads are its to answer too.
        await b.MineAsync(2);
        front.Mode = FaultMode.Throttle;
        await Rpc.WaitUntilAsync(async () => (await Rpc.BalanceAsync(proxy)) is { IsError: false, Upstream: "b" }, "b to serve the pinned block");
    }

    [Fact]
    public async Task A_head_that_goes_back_is_a_reorg_counted_journaled_and_published()
    {
        await using var node = await AnvilNode.StartAsync();
        var journal = new RecordingJournal();
        await using var proxy = await ProxyUnderTest.StartAsync(
            ResilienceYaml.Chain([("n", node.Url, "primary")], routing: "consistency: { head_poll: 50ms }", health: "{ interval: 10s, timeout: 1s, fail_after: 3, recover_after: 2, max_block_lag: 2 }"),
            services: s => s.AddSingleton<IFailureJournal>(journal));
        await proxy.WaitRoutableAsync(1);
        var reorgs = new ConcurrentQueue<ReorgEvent>();
        proxy.Services.GetRequiredService<HeadEvents>().Reorged += reorgs.Enqueue;
        var chain = proxy.Services.GetRequiredService<ChainRegistry>().Default;
        Assert.Equal(0, await Rpc.MetricAsync(proxy, "rpcshield_reorgs_total", ("chain", "test")));
        Assert.Contains("rpcshield_reorgs_total{chain=\"test\"} 0", await proxy.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);

        var snapshot = (await node.CallAsync("evm_snapshot")).GetString()!;
        await node.MineAsync(3);
        // Seen by the head poll (probes are 10 s apart).
        await Rpc.WaitUntilAsync(() => Task.FromResult(chain.BestHead == 3), "the tracker to see block 3");

        await node.CallAsync("evm_revert", snapshot);
        await Rpc.WaitUntilAsync(async () => await Rpc.MetricAsync(proxy, "rpcshield_reorgs_total", ("chain", "test")) >= 1, "the reorg to be counted");
        await Rpc.WaitUntilAsync(() => Task.FromResult(!reorgs.IsEmpty), "the reorg to be published");

        var reorg = Assert.Single(reorgs);
        // Block 0 kept its hash: the fork point found by hash is block 1, not the lower head.
        Assert.Equal(("n", 3L, 0L, 1L), (reorg.Upstream, reorg.OldNumber, reorg.NewNumber, reorg.FirstAffectedBlock));
        var row = Assert.Single(journal.Entries, e => e.Kind == JournalKinds.Reorg);
        Assert.Equal(("test", "n", "head_went_back"), (row.Chain, row.Upstream, row.Reason));
        Assert.Equal(0, chain.BestHead);
    }

    [Fact]
    public async Task Heads_arrive_from_a_newHeads_subscription_when_the_upstream_has_a_ws_url()
    {
        await using var node = await AnvilNode.StartAsync();
        var yaml = ResilienceYaml.Chain([("n", node.Url, "primary")], routing: "consistency: { head_poll: 1m }", health: "{ interval: 1m, timeout: 1s, fail_after: 3, recover_after: 2, max_block_lag: 2 }")
            .Replace($"url: \"{node.Url}\"", $"url: \"{node.Url}\", ws_url: \"{node.WsUrl}\"", StringComparison.Ordinal);
        await using var proxy = await ProxyUnderTest.StartAsync(yaml);
        await proxy.WaitRoutableAsync(1);
        var heads = new ConcurrentQueue<HeadUpdate>();
        proxy.Services.GetRequiredService<HeadEvents>().HeadUpdated += heads.Enqueue;

        // Polls are a minute apart and so are probes: a head within seconds comes from the subscription
        // (once it is confirmed: blocks mined before that are caught by the next one).
        for (var block = 1; block <= 10 && !heads.Any(h => h.Number >= 1); block++)
        {
            await node.MineAsync(1);
            for (var wait = 0; wait < 20 && !heads.Any(h => h.Number == block); wait++)
            {
                await Task.Delay(50);
            }
        }

        var seen = Assert.Single(heads.Take(1));
        Assert.Equal("n", seen.Upstream);
        Assert.NotNull(seen.Hash);
        Assert.Equal(seen.Number, proxy.Services.GetRequiredService<ChainRegistry>().Default.BestHead);
    }

    private static string Hex(long value) => HexQuantity.Format(value);
}
