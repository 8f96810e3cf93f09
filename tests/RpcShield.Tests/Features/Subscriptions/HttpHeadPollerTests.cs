using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RpcShield.Configuration;
using RpcShield.Features.Subscriptions;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Features.Subscriptions;

public sealed class HttpHeadPollerTests
{
    [Theory]
    [InlineData(12_000, 250)]
    [InlineData(1_000, 250)]
    [InlineData(400, 100)]
    [InlineData(40, 20)]
    public void The_poll_interval_is_a_quarter_block_at_most_250ms(int blockTimeMs, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), HttpHeadPoller.IntervalFor(new SubscriptionOptions { BlockTime = TimeSpan.FromMilliseconds(blockTimeMs) }));

    [Fact]
    public async Task It_polls_once_per_interval_of_the_injected_clock()
    {
        var chain = new FakeChain(10);
        var time = new FakeTimeProvider();
        var poller = new HttpHeadPoller("test", () => new SubscriptionOptions { BlockTime = TimeSpan.FromSeconds(1) }, chain, time, NullLogger.Instance);
        poller.Start();
        await WaitAsync(() => chain.LatestCalls == 1);
        await Task.Delay(100); // the loop registers its next delay right after the poll

        time.Advance(TimeSpan.FromMilliseconds(240));
        await Task.Delay(100);
        Assert.Equal(1, chain.LatestCalls); // not before the interval
        time.Advance(TimeSpan.FromMilliseconds(10));
        await WaitAsync(() => chain.LatestCalls == 2);
        await poller.StopAsync();
    }

    [Fact]
    public async Task A_feed_is_confirmed_at_the_current_head_then_gets_each_new_block_once_in_order_with_gaps_linked_by_parent()
    {
        var chain = new FakeChain(10);
        var (poller, events) = Attached(chain);
        await poller.PollOnceAsync(default);
        Assert.Equal((FeedEventKind.PollConfirmed, 10L), Read(events).Single());

        await poller.PollOnceAsync(default); // same head: nothing
        chain.Extend(3);
        await poller.PollOnceAsync(default);
        Assert.Equal([11L, 12, 13], Read(events).Select(e => e.Number));
        Assert.Equal(2, chain.ByHashCalls); // 12 and 11 fetched by hash (13 was the poll)
    }

    [Fact]
    public async Task A_replaced_block_at_the_same_height_is_published_with_the_hash_it_replaces()
    {
        var chain = new FakeChain(10);
        var (poller, events) = Attached(chain);
        await poller.PollOnceAsync(default);
        chain.Extend(1);
        await poller.PollOnceAsync(default);
        var old11 = chain.HashAt(11);
        Read(events);

        chain.Reorg(depth: 1, newLength: 1);
        await poller.PollOnceAsync(default);
        var published = events.Reader.TryRead(out var ev) ? ev : null;
        Assert.NotNull(published);
        Assert.Equal(11, published.Block!.Number);
        Assert.Equal(chain.HashAt(11), published.Block.Hash);
        Assert.Equal([old11], published.Replaced);
    }

    [Fact]
    public async Task A_deeper_reorg_publishes_the_new_chain_from_the_fork_point()
    {
        var chain = new FakeChain(10);
        var (poller, events) = Attached(chain);
        await poller.PollOnceAsync(default);
        chain.Extend(2);
        await poller.PollOnceAsync(default);
        string[] replaced = [chain.HashAt(11), chain.HashAt(12)];
        Read(events);

        chain.Reorg(depth: 2, newLength: 3);
        await poller.PollOnceAsync(default);
        var published = Drain(events);
        Assert.Equal([11L, 12, 13], published.Select(e => e.Block!.Number));
        Assert.Equal([chain.HashAt(11), chain.HashAt(12), chain.HashAt(13)], published.Select(e => e.Block!.Hash));
        Assert.Equal(replaced, published[0].Replaced);
        Assert.All(published.Skip(1), e => Assert.Empty(e.Replaced!));
    }

    [Fact]
    public async Task A_node_behind_or_on_a_fork_already_left_publishes_nothing()
    {
        var chain = new FakeChain(10);
        var (poller, events) = Attached(chain);
        await poller.PollOnceAsync(default);
        chain.Extend(2);
        await poller.PollOnceAsync(default);
        Read(events);

        // A lagging node answers an ancestor; another answers a lower block we never saw.
        chain.Answer = chain.BlockAt(11);
        await poller.PollOnceAsync(default);
        chain.Answer = FakeChain.Block(11, "0xelsewhere", chain.HashAt(10));
        await poller.PollOnceAsync(default);
        Assert.Empty(Drain(events));

        // Flapping between two nodes that disagree at the same height: the block left is not taken back.
        var left = chain.BlockAt(12);
        chain.Reorg(depth: 1, newLength: 1);
        chain.Answer = null;
        await poller.PollOnceAsync(default);
        Assert.Single(Drain(events));
        chain.Answer = left;
        await poller.PollOnceAsync(default);
        Assert.Empty(Drain(events));
    }

    [Fact]
    public async Task A_gap_larger_than_max_gap_blocks_publishes_the_new_head_alone()
    {
        var chain = new FakeChain(10);
        var (poller, events) = Attached(chain, maxGap: 3);
        await poller.PollOnceAsync(default);
        Read(events);
        chain.Extend(10);
        await poller.PollOnceAsync(default);
        Assert.Equal([20L], Read(events).Select(e => e.Number));
    }

    private static (HttpHeadPoller Poller, Channel<FeedEvent> Events) Attached(FakeChain chain, int maxGap = 128)
    {
        var poller = new HttpHeadPoller("test", () => new SubscriptionOptions { MaxGapBlocks = maxGap }, chain, new FakeTimeProvider(), NullLogger.Instance);
        var events = Channel.CreateUnbounded<FeedEvent>();
        poller.Attach(events.Writer);
        return (poller, events);
    }

    private static List<(FeedEventKind Kind, long Number)> Read(Channel<FeedEvent> events) =>
        Drain(events).Select(e => (e.Kind, e.Block!.Number)).ToList();

    private static List<FeedEvent> Drain(Channel<FeedEvent> events)
    {
        var all = new List<FeedEvent>();
        while (events.Reader.TryRead(out var ev))
        {
            all.Add(ev);
        }

        return all;
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    /// <summary>A chain of blocks with hashes that say where they come from; reorgs rewrite its tip.</summary>
    private sealed class FakeChain : IBlockReader
    {
        private readonly List<PolledBlock> _blocks = [];
        private int _fork;
        private int _latestCalls;
        private int _byHashCalls;

        public FakeChain(int height)
        {
            for (var n = 0; n <= height; n++)
            {
                Append();
            }
        }

        public int LatestCalls => Volatile.Read(ref _latestCalls);

        public int ByHashCalls => Volatile.Read(ref _byHashCalls);

        /// <summary>Answered by `latest` instead of the tip (a node behind, or on another fork).</summary>
        public PolledBlock? Answer { get; set; }

        public static PolledBlock Block(long number, string hash, string? parent) =>
            new(number, hash, parent, Encoding.UTF8.GetBytes($$"""{"number":"0x{{number:x}}","hash":"{{hash}}"}"""), null);

        public string HashAt(long number) => _blocks[(int)number].Hash;

        public PolledBlock BlockAt(long number) => _blocks[(int)number];

        public void Extend(int blocks)
        {
            for (var i = 0; i < blocks; i++)
            {
                Append();
            }
        }

        public void Reorg(int depth, int newLength)
        {
            _fork++;
            _blocks.RemoveRange(_blocks.Count - depth, depth);
            Extend(newLength);
        }

        public ValueTask<PolledBlock?> LatestAsync(string chain, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _latestCalls);
            return ValueTask.FromResult<PolledBlock?>(Answer ?? _blocks[^1]);
        }

        public ValueTask<PolledBlock?> ByHashAsync(string chain, string hash, Upstream? prefer, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _byHashCalls);
            return ValueTask.FromResult(_blocks.FirstOrDefault(b => b.Hash == hash));
        }

        private void Append()
        {
            var number = _blocks.Count;
            _blocks.Add(Block(number, $"0x{number:x}f{_fork}", number == 0 ? null : _blocks[^1].Hash));
        }
    }
}
