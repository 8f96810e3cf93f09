using System.Text;
using Microsoft.Extensions.Time.Testing;
using RpcShield.JsonRpc;
using RpcShield.Routing;
using RpcShield.Tests.Routing.Hedging;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Routing;

/// <summary>Which items may join an upstream batch (nothing is sent: the upstreams are unreachable, and what is flushed is handed back).</summary>
public sealed class BatchCoalescerTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void An_upstream_that_refused_a_batch_gets_none_until_the_cooldown_passed()
    {
        var (upstream, coalescer) = Setup();
        upstream.TakesBatchesAgainAt = _time.GetTimestamp() + (long)(BatchCoalescer.RefusalCooldown.TotalSeconds * _time.TimestampFrequency);

        Assert.False(coalescer.TryJoin(upstream, Item("1"), TimeSpan.FromSeconds(1), out _));
        _time.Advance(BatchCoalescer.RefusalCooldown - TimeSpan.FromSeconds(1));
        Assert.False(coalescer.TryJoin(upstream, Item("1"), TimeSpan.FromSeconds(1), out _));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(coalescer.TryJoin(upstream, Item("1"), TimeSpan.FromSeconds(1), out var attempt));
        Assert.NotNull(attempt);
    }

    [Theory]
    [InlineData("max_rps")]
    [InlineData("max_concurrency")]
    [InlineData("max_batch")]
    public void A_budgeted_upstream_or_one_with_max_batch_below_two_takes_no_batch(string setting)
    {
        var (upstream, coalescer) = Setup(options => setting switch
        {
            "max_rps" => options with { MaxRps = 100 },
            "max_concurrency" => options with { MaxConcurrency = 8 },
            _ => options with { MaxBatch = 1 },
        });

        Assert.False(coalescer.TryJoin(upstream, Item("1"), TimeSpan.FromSeconds(1), out _));
    }

    [Fact]
    public void Ids_that_cannot_be_told_apart_and_late_items_go_alone()
    {
        var (upstream, coalescer) = Setup();

        Assert.True(coalescer.TryJoin(upstream, Item("7"), TimeSpan.FromSeconds(1), out _));
        Assert.False(coalescer.TryJoin(upstream, Item("7"), TimeSpan.FromSeconds(1), out _));
        Assert.False(coalescer.TryJoin(upstream, Item("null"), TimeSpan.FromSeconds(1), out _));
        Assert.True(coalescer.TryJoin(upstream, Item("\"7\""), TimeSpan.FromSeconds(1), out _));
        coalescer.Flush();
        Assert.False(coalescer.TryJoin(upstream, Item("8"), TimeSpan.FromSeconds(1), out _));
    }

    [Fact]
    public async Task An_item_left_alone_after_grouping_is_handed_back_to_be_sent_by_itself()
    {
        var (upstream, coalescer) = Setup();

        Assert.True(coalescer.TryJoin(upstream, Item("1"), TimeSpan.FromSeconds(1), out var fast));
        Assert.True(coalescer.TryJoin(upstream, Item("2"), TimeSpan.FromSeconds(2), out var slow));
        coalescer.Flush();

        // Different attempt timeouts never share a request: each is a group of one, handed back (null).
        Assert.Null(await fast!);
        Assert.Null(await slow!);
    }

    private (Upstream Upstream, BatchCoalescer Coalescer) Setup(Func<RpcShield.Configuration.UpstreamOptions, RpcShield.Configuration.UpstreamOptions>? configure = null)
    {
        var (_, chain, _) = TestChains.Create(_time, c => configure is null ? c : c with { Upstreams = [configure(c.Upstreams[0]), .. c.Upstreams.Skip(1)] });
        var sender = new UpstreamSender(_time, [], []);
        return (chain.Upstreams.First(u => u.Name == "u0"), new BatchCoalescer(sender, _time, CancellationToken.None));
    }

    private static RpcRequestItem Item(string id)
    {
        var raw = Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":{{id}},"method":"eth_blockNumber"}""");
        return new RpcRequestItem(raw, Encoding.UTF8.GetBytes(id), "eth_blockNumber", default);
    }
}
