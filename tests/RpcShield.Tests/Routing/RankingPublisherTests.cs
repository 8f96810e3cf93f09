using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RpcShield.Chains;
using RpcShield.Configuration;
using RpcShield.Tests.Routing.Hedging;
using RpcShield.Upstreams;

namespace RpcShield.Tests.Routing;

public sealed class RankingPublisherTests
{
    [Fact]
    public async Task A_burst_of_signals_during_a_pass_coalesces_into_one_more_pass()
    {
        using var entered = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim(false);
        var calls = 0;
        using var publisher = new RankingPublisher(() =>
        {
            if (Interlocked.Increment(ref calls) == 2)
            {
                // The first signalled pass holds here while the burst arrives.
                entered.Release();
                release.Wait(TimeSpan.FromSeconds(30));
            }

            return ([], calls);
        });
        publisher.PublishNow();

        publisher.Signal();
        Assert.True(await entered.WaitAsync(TimeSpan.FromSeconds(30)));
        for (var i = 0; i < 100; i++)
        {
            publisher.Signal();
        }

        release.Set();
        await WaitFor(() => !publisher.Busy && publisher.Recomputes == 3);
        await Task.Delay(50);

        // PublishNow, the held pass, and one pass for the whole burst of 100.
        Assert.Equal(3, Volatile.Read(ref calls));
        Assert.Equal(3, publisher.Current!.Version);
        Assert.Equal(3, publisher.Current.BestHead);
    }

    [Fact]
    public async Task A_slow_recompute_of_older_state_cannot_overwrite_a_later_one()
    {
        // The race of the old code: a rerank reads state 1 and is slow; another one reads state 2 and
        // publishes; the slow one then published state 1 over it.
        long state = 0;
        using var entered = new SemaphoreSlim(0);
        using var release = new ManualResetEventSlim(false);
        var hold = false;
        using var publisher = new RankingPublisher(() =>
        {
            var read = Interlocked.Read(ref state);
            if (Volatile.Read(ref hold))
            {
                Volatile.Write(ref hold, false);
                entered.Release();
                release.Wait(TimeSpan.FromSeconds(30));
            }

            return ([], read);
        });
        publisher.PublishNow();

        state = 1;
        Volatile.Write(ref hold, true);
        publisher.Signal();
        Assert.True(await entered.WaitAsync(TimeSpan.FromSeconds(30))); // the pass has read state 1 and is held
        state = 2;
        var later = Task.Run(publisher.PublishNow); // a recompute that reads state 2
        await Task.Delay(200);
        release.Set();
        await later;
        await WaitFor(() => !publisher.Busy);

        Assert.Equal(2, publisher.Current!.BestHead);
        Assert.Equal(3, publisher.Current.Version);
    }

    [Fact]
    public async Task An_older_ranking_never_overwrites_a_newer_one()
    {
        // The "state" only rises and each snapshot carries what its recompute read: a snapshot computed
        // earlier replacing a later one would show as a version or a state going back.
        long state = 0;
        using var publisher = new RankingPublisher(() => ([], Interlocked.Read(ref state)));
        publisher.PublishNow();
        using var stop = new CancellationTokenSource();
        var seen = new List<RankingSnapshot>();
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var current = publisher.Current!;
                if (seen.Count == 0 || !ReferenceEquals(seen[^1], current))
                {
                    seen.Add(current);
                }
            }
        });
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 2_000; i++)
            {
                Interlocked.Increment(ref state);
                if (w == 0 && i % 50 == 0)
                {
                    publisher.PublishNow(); // a reload or start-up publishing on its own thread, interleaved with the passes
                }
                else
                {
                    publisher.Signal();
                }
            }
        })).ToArray();
        await Task.WhenAll(writers);
        await WaitFor(() => !publisher.Busy && publisher.Current!.BestHead == 8_000);
        await stop.CancelAsync();
        await reader;

        Assert.Equal(8_000, publisher.Current!.BestHead); // the last change is published, not lost
        for (var i = 1; i < seen.Count; i++)
        {
            Assert.True(seen[i].Version > seen[i - 1].Version, $"version {seen[i].Version} after {seen[i - 1].Version}");
            Assert.True(seen[i].BestHead >= seen[i - 1].BestHead, $"state {seen[i].BestHead} published after {seen[i - 1].BestHead}");
        }
    }

    [Fact]
    public async Task A_failing_recompute_keeps_the_last_snapshot_and_the_publisher_alive()
    {
        var fail = false;
        var errors = new List<Exception>();
        using var publisher = new RankingPublisher(() => fail ? throw new InvalidOperationException("boom") : ([], 7), errors.Add);
        var first = publisher.PublishNow();

        fail = true;
        publisher.Signal();
        await WaitFor(() => !publisher.Busy && errors.Count == 1);
        Assert.Same(first, publisher.Current);

        fail = false;
        publisher.Signal();
        await WaitFor(() => publisher.Recomputes == 2);
        Assert.Equal(7, publisher.Current!.BestHead);
    }

    [Fact]
    public async Task A_stopped_publisher_ignores_signals()
    {
        var calls = 0;
        var publisher = new RankingPublisher(() => ([], Interlocked.Increment(ref calls)));
        publisher.PublishNow();
        publisher.Dispose();

        publisher.Signal();
        await Task.Delay(50);

        Assert.False(publisher.Busy);
        Assert.Equal(1, Volatile.Read(ref calls));
        Assert.Equal(1, publisher.Current!.BestHead);
    }

    [Fact]
    public async Task A_chain_publishes_what_its_inputs_signal_and_never_ranks_on_the_signalling_thread()
    {
        var time = new FakeTimeProvider();
        var (registry, chain, _) = TestChains.Create(time);
        using var _ = registry;
        foreach (var upstream in chain.Upstreams)
        {
            upstream.Health.ProbeSucceeded(10, chainIdVerified: true);
        }

        var before = chain.PublishNow();
        Assert.Equal(2, before.Ranking.Length);

        // A hard failure seen by a request: the request thread only signals.
        chain.Upstreams[0].Health.Failed("connection_refused", hard: true);
        registry.SignalRankingOf(chain.Upstreams[0]);
        await WaitFor(() => chain.Published.Version > before.Version);

        var after = chain.Published;
        Assert.Same(chain.Upstreams[1], after.Ranking[0]);
        Assert.Equal(10, after.BestHead);
        Assert.Same(chain.Upstreams[0], before.Ranking.Single(u => u != chain.Upstreams[1])); // the old snapshot is untouched
    }

    [Fact]
    public async Task A_reload_publishes_the_new_chain_and_stops_the_replaced_ones_publisher()
    {
        var time = new FakeTimeProvider();
        var (registry, old, _) = TestChains.Create(time);
        var next = new ChainOptions
        {
            Name = "test",
            ChainId = 31337,
            Upstreams = [new UpstreamOptions { Name = "u0", Url = "http://127.0.0.1:9" }, new UpstreamOptions { Name = "u9", Url = "http://127.0.0.1:19" }],
        };

        await registry.ApplyAsync(new ProxyOptions { Chains = [next] });

        var fresh = registry.Chains[0];
        Assert.NotSame(old, fresh);
        Assert.NotNull(fresh.Published);
        var oldVersion = old.Published.Version;
        old.SignalRanking();
        await Task.Delay(50);
        Assert.False(old.Publisher.Busy);
        Assert.Equal(oldVersion, old.Published.Version); // replaced: nothing recomputes it any more

        var freshVersion = fresh.Published.Version;
        fresh.SignalRanking();
        await WaitFor(() => fresh.Published.Version > freshVersion);

        registry.Dispose(); // shutdown stops the live one too
        freshVersion = fresh.Published.Version;
        fresh.SignalRanking();
        await Task.Delay(50);
        Assert.Equal(freshVersion, fresh.Published.Version);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 1_000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
