using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RpcShield.Upstreams.Heads;
using RpcShield.Upstreams.Health;
using RpcShield.Journal;
using RpcShield.Tests.Routing.Hedging;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Upstreams.Heads;

/// <summary>The head tracker's timing and bookkeeping on a fake clock (nothing is sent over the wire).</summary>
public sealed class HeadTrackerTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Loopback_upstreams_are_polled_every_head_poll_and_only_while_routable()
    {
        var (registry, chain, metrics) = TestChains.Create(_time, c => c with { Routing = c.Routing with { Consistency = c.Routing.Consistency with { HeadPoll = TimeSpan.FromMilliseconds(250) } } });
        foreach (var upstream in chain.Upstreams)
        {
            upstream.Health.ProbeSucceeded(100, chainIdVerified: true);
        }

        var polls = new CountingGuard();
        var tracker = new HeadTracker(registry, new UpstreamSender(_time, [], [polls]), _time, metrics, new NullFailureJournal(), new HeadEvents(NullLogger<HeadEvents>.Instance), NullLogger<HeadTracker>.Instance);
        await tracker.StartAsync(CancellationToken.None);
        try
        {
            await WaitFor(() => polls.Count("u0") == 1);
            for (var poll = 2; poll <= 5; poll++)
            {
                // Each head_poll of fake time is one more poll (the tracker's tick coalesces the advance into one pass).
                _time.Advance(TimeSpan.FromMilliseconds(250));
                await WaitFor(() => polls.Count("u0") == poll);
            }

            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(100);
            Assert.Equal(5, polls.Count("u0")); // not due yet
            Assert.True(chain.Upstreams[0].Health.HeadTracked);

            // An unhealthy upstream is left to the health probes.
            chain.Upstreams[1].Health.Failed("connection_refused", hard: true);
            var before = polls.Count("u1");
            for (var poll = 6; poll <= 7; poll++)
            {
                _time.Advance(TimeSpan.FromMilliseconds(250));
                await WaitFor(() => polls.Count("u0") == poll);
            }

            Assert.Equal(before, polls.Count("u1"));
            Assert.False(chain.Upstreams[1].Health.HeadTracked);
        }
        finally
        {
            await tracker.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_head_feeds_health_and_ranking_and_a_head_going_back_is_a_published_reorg()
    {
        var (registry, chain, metrics) = TestChains.Create(_time);
        foreach (var upstream in chain.Upstreams)
        {
            upstream.Health.ProbeSucceeded(10, chainIdVerified: true);
        }

        chain.PublishNow();
        var journal = new Recording();
        var events = new HeadEvents(NullLogger<HeadEvents>.Instance);
        var reorgs = new List<ReorgEvent>();
        var heads = new List<HeadUpdate>();
        events.Reorged += reorgs.Add;
        events.HeadUpdated += heads.Add;
        var tracker = new HeadTracker(registry, new UpstreamSender(_time, [], []), _time, metrics, journal, events, NullLogger<HeadTracker>.Instance);
        var (u0, u1) = (chain.Upstreams[0], chain.Upstreams[1]);

        await tracker.ObserveAsync(chain, u0, new BlockHeader(11, "0xa11", "0xa10"), CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(120));
        await tracker.ObserveAsync(chain, u1, new BlockHeader(11, "0xa11", "0xa10"), CancellationToken.None);
        await tracker.ObserveAsync(chain, u1, new BlockHeader(11, "0xa11", "0xa10"), CancellationToken.None);

        // The tracker only signals the chain's ranking publisher, which publishes on its own pass.
        await WaitFor(() => chain.BestHead == 11);
        Assert.Equal((11L, "0xa11"), (u0.Health.Head, u0.Health.HeadHash));
        Assert.Equal(2, heads.Count); // the repeated head is not news
        Assert.Equal(0.12, u1.Metrics.HeadDelay.Sum, 3);
        Assert.Equal(0, u0.Metrics.HeadDelay.Sum);

        await tracker.ObserveAsync(chain, u0, new BlockHeader(10, "0xb10", "0xa09"), CancellationToken.None);

        var reorg = Assert.Single(reorgs);
        Assert.Equal(("u0", 11L, 10L, 10L), (reorg.Upstream, reorg.OldNumber, reorg.NewNumber, reorg.FirstAffectedBlock));
        Assert.Equal(1, metrics.Reorgs.WithLabels("test").Value);
        Assert.Equal(10, u0.Health.Head);
        var row = Assert.Single(journal.Entries);
        Assert.Equal((JournalKinds.Reorg, "head_went_back", "u0"), (row.Kind, row.Reason, row.Upstream));
        Assert.Equal(HealthStatus.Healthy, u0.Health.Status);
    }

    [Fact]
    public async Task A_reorg_names_its_fork_point_by_comparing_hashes_not_the_lower_head()
    {
        var (registry, chain, metrics) = TestChains.Create(_time);
        var events = new HeadEvents(NullLogger<HeadEvents>.Instance);
        var reorgs = new List<ReorgEvent>();
        events.Reorged += reorgs.Add;
        var tracker = new HeadTracker(registry, new UpstreamSender(_time, [], []), _time, metrics, new Recording(), events, NullLogger<HeadTracker>.Instance);
        var u0 = chain.Upstreams[0];
        for (var number = 8; number <= 12; number++)
        {
            await tracker.ObserveAsync(chain, u0, new BlockHeader(number, $"0xa{number}", $"0xa{number - 1}"), CancellationToken.None);
        }

        // Back to 11 with the same block 11: only block 12 changed (the lower head would say 11).
        await tracker.ObserveAsync(chain, u0, new BlockHeader(11, "0xa11", "0xa10"), CancellationToken.None);
        // Same height, new hash, parent unchanged: block 11 is the fork point.
        await tracker.ObserveAsync(chain, u0, new BlockHeader(11, "0xb11", "0xa10"), CancellationToken.None);
        // A new head whose parent is the new 11: an advance, no reorg.
        await tracker.ObserveAsync(chain, u0, new BlockHeader(12, "0xb12", "0xb11"), CancellationToken.None);

        Assert.Equal([12L, 11L], reorgs.Select(r => r.FirstAffectedBlock));
        Assert.All(reorgs, r => Assert.NotNull(r.ForkBlock));
    }

    [Fact]
    public async Task The_canonical_hash_of_a_block_is_the_one_an_upstream_at_the_best_head_showed_last()
    {
        var (registry, chain, metrics) = TestChains.Create(_time);
        var tracker = new HeadTracker(registry, new UpstreamSender(_time, [], []), _time, metrics, new Recording(), new HeadEvents(NullLogger<HeadEvents>.Instance), NullLogger<HeadTracker>.Instance);
        var (u0, u1) = (chain.Upstreams[0], chain.Upstreams[1]);
        foreach (var upstream in chain.Upstreams)
        {
            upstream.Health.ProbeSucceeded(10, chainIdVerified: true);
        }

        chain.PublishNow();
        static string Hash(char fork, long number) => "0x" + new string(fork, 62) + number.ToString("x2", System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(tracker.CanonicalHash("test", 11).IsKnown);
        for (var number = 10; number <= 12; number++)
        {
            await tracker.ObserveAsync(chain, u0, new BlockHeader(number, Hash('a', number), Hash('a', number - 1)), CancellationToken.None);
        }

        // u1 lags on another block 11: not at the best head, so not canonical.
        await tracker.ObserveAsync(chain, u1, new BlockHeader(11, Hash('c', 11), Hash('a', 10)), CancellationToken.None);
        await WaitFor(() => chain.BestHead == 12);
        Assert.Equal(BlockHash.Parse(Hash('a', 11)), tracker.CanonicalHash("test", 11));
        Assert.Equal(BlockHash.Parse(Hash('c', 11)), tracker.HashShownBy(u1, 11));
        Assert.False(tracker.CanonicalHash("test", 9).IsKnown);
        Assert.False(tracker.CanonicalHash("other", 11).IsKnown);

        // u0 reorgs at the same height: block 12 gets the new chain's hash as the fork point is found, 11 stays.
        await tracker.ObserveAsync(chain, u0, new BlockHeader(12, Hash('b', 12), Hash('a', 11)), CancellationToken.None);
        Assert.Equal(BlockHash.Parse(Hash('b', 12)), tracker.CanonicalHash("test", 12));
        Assert.Equal(BlockHash.Parse(Hash('a', 11)), tracker.CanonicalHash("test", 11));
    }

    [Fact]
    public async Task A_node_climbing_block_by_block_in_a_burst_is_trusted_at_each_head()
    {
        var (registry, chain, metrics) = TestChains.Create(_time);
        foreach (var upstream in chain.Upstreams)
        {
            upstream.Health.ProbeSucceeded(2, chainIdVerified: true);
        }

        chain.PublishNow();
        var tracker = new HeadTracker(registry, new UpstreamSender(_time, [], []), _time, metrics, new Recording(), new HeadEvents(NullLogger<HeadEvents>.Instance), NullLogger<HeadTracker>.Instance);

        for (var number = 3; number <= 12; number++)
        {
            // Ten heads in a burst from one node (a node mining fast): each one ranked before the next arrives.
            await tracker.ObserveAsync(chain, chain.Upstreams[0], new BlockHeader(number, $"0x{number:x}", $"0x{number - 1:x}"), CancellationToken.None);
            Assert.Equal(number, chain.BestHead);
        }

        Assert.Equal(RpcShield.Upstreams.Health.HealthStatus.Lagging, chain.Upstreams[1].Health.Status); // ten behind: left
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    /// <summary>Counts attempts per upstream and refuses them: nothing is sent.</summary>
    private sealed class CountingGuard : IAttemptGuard
    {
        private readonly Dictionary<string, int> _counts = [];

        public int Count(string upstream)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault(upstream);
            }
        }

        public AttemptOutcome? Admit(Upstream upstream)
        {
            lock (_counts)
            {
                _counts[upstream.Name] = _counts.GetValueOrDefault(upstream.Name) + 1;
            }

            return AttemptOutcome.Refused(upstream, "counted");
        }

        public void Completed(Upstream upstream, AttemptOutcome? outcome)
        {
        }
    }

    private sealed class Recording : IFailureJournal
    {
        public List<JournalEntry> Entries { get; } = [];

        public void Record(JournalEntry entry) => Entries.Add(entry);
    }
}
