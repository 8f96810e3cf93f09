using System.Text.Json;
using RpcShield.Features.Subscriptions;

namespace RpcShield.Tests.Features.Subscriptions;

public sealed class LogDeduplicatorTests
{
    private const string Topic = "0x00000000000000000000000000000000000000000000000000000000000000aa";

    [Fact]
    public void The_same_log_seen_twice_is_delivered_once()
    {
        var logs = new LogDeduplicator();
        Assert.True(logs.ShouldDeliver(Log(5, "0xb5", 0, "0xt1")));
        Assert.False(logs.ShouldDeliver(Log(5, "0xb5", 0, "0xt1")));
        Assert.Equal(5, logs.HighestBlock);
    }

    [Fact]
    public void The_same_transaction_log_reported_by_another_node_in_another_block_is_not_repeated()
    {
        var logs = new LogDeduplicator();
        Assert.True(logs.ShouldDeliver(Log(5, "0xnodeA5", 0, "0xt1")));
        Assert.False(logs.ShouldDeliver(Log(6, "0xnodeB6", 2, "0xt1")));
        Assert.True(logs.ShouldDeliver(Log(6, "0xnodeB6", 3, "0xt2")));
    }

    [Fact]
    public void Two_identical_logs_of_one_transaction_are_both_delivered()
    {
        var logs = new LogDeduplicator();
        Assert.True(logs.ShouldDeliver(Log(5, "0xb5", 0, "0xt1")));
        Assert.True(logs.ShouldDeliver(Log(5, "0xb5", 1, "0xt1")));
        Assert.False(logs.ShouldDeliver(Log(7, "0xother", 4, "0xt1")));
        Assert.False(logs.ShouldDeliver(Log(7, "0xother", 5, "0xt1")));
    }

    [Fact]
    public void A_suppressed_log_seen_again_at_the_same_position_is_still_suppressed()
    {
        // Failover: the backfill from the new node reports a log already delivered from the old
        // node's block, then the new node's live stream reports it again at the same position.
        var logs = new LogDeduplicator();
        Assert.True(logs.ShouldDeliver(Log(5, "0xnodeA5", 0, "0xt1")));
        Assert.False(logs.ShouldDeliver(Log(6, "0xnodeB6", 0, "0xt1")));
        Assert.False(logs.ShouldDeliver(Log(6, "0xnodeB6", 0, "0xt1")));
        Assert.True(logs.ShouldDeliver(Log(6, "0xnodeB6", 1, "0xt2")));
    }

    [Fact]
    public void Removing_a_suppressed_alias_is_not_passed_on_but_lets_a_reinclusion_through()
    {
        var logs = new LogDeduplicator();
        Assert.True(logs.ShouldDeliver(Log(5, "0xnodeA5", 0, "0xt1")));
        Assert.False(logs.ShouldDeliver(Log(6, "0xnodeB6", 0, "0xt1")));
        Assert.False(logs.ShouldDeliver(Log(6, "0xnodeB6", 0, "0xt1", removed: true)));
        Assert.True(logs.ShouldDeliver(Log(7, "0xnodeB7", 0, "0xt1")));
    }

    [Fact]
    public void A_removed_log_is_passed_on_only_when_it_was_delivered_and_can_come_back()
    {
        var logs = new LogDeduplicator();
        Assert.False(logs.ShouldDeliver(Log(5, "0xb5", 0, "0xt1", removed: true)));
        Assert.True(logs.ShouldDeliver(Log(5, "0xb5", 0, "0xt1")));
        Assert.True(logs.ShouldDeliver(Log(5, "0xb5", 0, "0xt1", removed: true)));
        Assert.True(logs.ShouldDeliver(Log(6, "0xb6", 0, "0xt1")));
    }

    [Fact]
    public void Memory_is_bounded_by_pruning_old_blocks()
    {
        var logs = new LogDeduplicator();
        for (var block = 0; block < 20_000; block++)
        {
            logs.ShouldDeliver(Log(block, $"0xb{block:x}", 0, $"0xt{block:x}"));
        }

        Assert.True(logs.Count < 6000, $"{logs.Count} entries kept");
    }

    private static LogRef Log(long block, string blockHash, int index, string tx, bool removed = false)
    {
        var json = $$"""
            {"address":"0x5FbDB2315678afecb367f032d93F642f64180aa3","topics":["{{Topic}}"],"data":"0x",
             "blockNumber":"0x{{block:x}}","blockHash":"{{blockHash}}","logIndex":"0x{{index:x}}","transactionHash":"{{tx}}","removed":{{(removed ? "true" : "false")}}}
            """;
        using var document = JsonDocument.Parse(json);
        Assert.True(LogRef.TryParse(document.RootElement, out var log));
        return log;
    }
}
