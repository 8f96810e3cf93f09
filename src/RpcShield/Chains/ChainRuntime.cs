using System.Collections.Frozen;
using RpcShield.Configuration;
using RpcShield.Upstreams.Health;
using RpcShield.Routing;
using RpcShield.Upstreams;

namespace RpcShield.Chains;

/// <summary>
/// Live state of one chain for one config snapshot: its upstreams (instances carried over from the
/// previous snapshot where unchanged), method routing, and the published ranking the request path reads.
/// </summary>
internal sealed class ChainRuntime
{
    // Written only inside the publisher's recompute (serialized by it).
    private long _unconfirmedHead = -1;
    private long _lastBestHead = -1;

    /// <param name="rankingFailed">Told when a ranking recompute throws (logged by the registry).</param>
    public ChainRuntime(ChainOptions options, IReadOnlyList<Upstream> upstreams, Action<Exception>? rankingFailed = null)
    {
        Options = options;
        Name = options.Name;
        Upstreams = upstreams;
        Methods = new MethodModel(options);
        UncachedMethods = (options.Cache?.Methods ?? []).Where(m => !m.Value).Select(m => m.Key).ToFrozenSet(StringComparer.Ordinal);
        var index = new Dictionary<Upstream, int>(upstreams.Count);
        for (var i = 0; i < upstreams.Count; i++)
        {
            index[upstreams[i]] = i;
        }

        IndexOf = index;

        Publisher = new RankingPublisher(Recompute, rankingFailed);
        Publisher.PublishNow();
    }

    public string Name { get; }

    public ChainOptions Options { get; }

    /// <summary>In config order (indices match <see cref="EligibleUpstreams"/>).</summary>
    public IReadOnlyList<Upstream> Upstreams { get; }

    public IReadOnlyDictionary<Upstream, int> IndexOf { get; }

    /// <summary>Per-method traits (eligible upstreams, hedgeable, send, shed, deadline) compiled for this snapshot.</summary>
    public MethodModel Methods { get; }

    /// <summary>The methods this chain's `cache.methods` turns off (the response cache never looks them up).</summary>
    public FrozenSet<string> UncachedMethods { get; }

    /// <summary>The one writer of this chain's ranking: inputs signal it, request threads read <see cref="Published"/>.</summary>
    public RankingPublisher Publisher { get; }

    /// <summary>The latest ranking snapshot (ranking and best head together).</summary>
    public RankingSnapshot Published => Publisher.Current!;

    /// <summary>Routable upstreams, best first (immutable array of the latest snapshot).</summary>
    public Upstream[] Ranking => Published.Ranking;

    /// <summary>Highest head among healthy upstreams (-1 before any probe), from the latest snapshot.</summary>
    public long BestHead => Published.BestHead;

    public int HealthyCount
    {
        get
        {
            var count = 0;
            foreach (var upstream in Upstreams)
            {
                if (upstream.Health.Status == HealthStatus.Healthy)
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>Tells the publisher routing state changed (it recomputes soon, coalescing bursts); never blocks.</summary>
    public void SignalRanking() => Publisher.Signal();

    /// <summary>Recomputes and publishes on this thread, serialized with the publisher (never on a request thread).</summary>
    public RankingSnapshot PublishNow() => Publisher.PublishNow();

    /// <summary>Recomputes lag exclusion and the ranking and sets the per-upstream gauges; run by the publisher only.</summary>
    private (Upstream[] Ranking, long BestHead) Recompute()
    {
        var best = TrustedBestHead();

        if (best >= 0)
        {
            foreach (var upstream in Upstreams)
            {
                upstream.Health.ApplyLag(best);
            }
        }

        _lastBestHead = best;
        var ranking = Ranker.Rank(Upstreams, best, Options.Routing.CircuitBreaker.MinRequests);
        foreach (var upstream in Upstreams)
        {
            var metrics = upstream.Metrics;
            metrics.Up.Set(upstream.Health.Status == HealthStatus.Healthy ? 1 : 0);
            metrics.Score.Set(upstream.Score);
            if (upstream.Health.Head >= 0)
            {
                metrics.Head.Set(upstream.Health.Head);
                metrics.Lag.Set(best >= 0 ? Math.Max(0, best - upstream.Health.Head) : 0);
            }
        }

        return (ranking, best);
    }

    /// <summary>
    /// The highest head among routable upstreams, unless it is more than `max_block_lag` above every
    /// other one's and also jumped that far past the last trusted best head: such a head (a node on
    /// a fork, a bogus answer) is trusted only once a second node confirms it, or once its node has
    /// moved on past it. A head that climbs block by block is trusted as it goes, so a stuck or
    /// syncing node cannot hold the best head back.
    /// </summary>
    private long TrustedBestHead()
    {
        long top = -1;
        long second = -1;
        foreach (var upstream in Upstreams)
        {
            if (upstream.Health.Status is HealthStatus.Healthy or HealthStatus.Lagging)
            {
                var head = upstream.Health.Head;
                if (head > top)
                {
                    (top, second) = (head, top);
                }
                else if (head > second)
                {
                    second = head;
                }
            }
        }

        var lag = Options.Routing.Health.MaxBlockLag;
        var previous = _lastBestHead;
        if (second >= 0 && top - second > lag && (previous < 0 || top - previous > Math.Max(lag, 1)))
        {
            var pending = _unconfirmedHead;
            if (pending < 0 || top <= pending)
            {
                // Unconfirmed: the best head stays where it was (or at the second node's head).
                _unconfirmedHead = top;
                return Math.Max(second, Math.Min(previous, top));
            }

            // The node moved on past its unconfirmed head: a live node ahead (the others are stuck or syncing).
        }

        _unconfirmedHead = -1;
        return top;
    }

    /// <summary>
    /// Candidates for a method, best first, at most <paramref name="max"/>. Returns an empty array
    /// when the method is servable but nothing is routable right now. The array may be the ranking
    /// itself (when every ranked upstream is a candidate: no copy per request), so it is never modified.
    /// </summary>
    public Upstream[] Candidates(string method, int max) => Candidates(Methods[method].Eligible, max);

    /// <summary>Candidates among <paramref name="eligible"/> (a method's compiled entry), as <see cref="Candidates(string, int)"/>.</summary>
    public Upstream[] Candidates(EligibleUpstreams eligible, int max)
    {
        var ranking = Published.Ranking;
        var count = 0;
        Span<int> picked = stackalloc int[Math.Min(ranking.Length, 64)];
        for (var i = 0; i < ranking.Length && count < max && count < picked.Length; i++)
        {
            if (eligible[IndexOf[ranking[i]]])
            {
                picked[count++] = i;
            }
        }

        if (count == 0)
        {
            return [];
        }

        if (count == ranking.Length)
        {
            return ranking;
        }

        var result = new Upstream[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = ranking[picked[i]];
        }

        return result;
    }
}
