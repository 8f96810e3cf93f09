using RpcShield.Configuration;
using RpcShield.Health;
using RpcShield.Routing;
using RpcShield.Upstreams;

namespace RpcShield.Chains;

/// <summary>
/// Live state of one chain for one config snapshot: its upstreams (instances carried over from the
/// previous snapshot where unchanged), method routing, and the published ranking the request path reads.
/// </summary>
internal sealed class ChainRuntime
{
    private volatile Upstream[] _ranking = [];
    private long _bestHead = -1;

    public ChainRuntime(ChainOptions options, IReadOnlyList<Upstream> upstreams)
    {
        Options = options;
        Name = options.Name;
        Upstreams = upstreams;
        Router = new MethodRouter(options);
        var index = new Dictionary<Upstream, int>(upstreams.Count);
        for (var i = 0; i < upstreams.Count; i++)
        {
            index[upstreams[i]] = i;
        }

        IndexOf = index;

        Rerank();
    }

    public string Name { get; }

    public ChainOptions Options { get; }

    /// <summary>In config order (indices match <see cref="MethodRouter.Eligible"/>).</summary>
    public IReadOnlyList<Upstream> Upstreams { get; }

    public IReadOnlyDictionary<Upstream, int> IndexOf { get; }

    public MethodRouter Router { get; }

    /// <summary>Routable upstreams, best first (immutable array, swapped atomically).</summary>
    public Upstream[] Ranking => _ranking;

    /// <summary>Highest head among healthy upstreams (-1 before any probe).</summary>
    public long BestHead => Interlocked.Read(ref _bestHead);

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

    /// <summary>Recomputes lag exclusion and the ranking, publishes it and the per-upstream gauges.</summary>
    public void Rerank()
    {
        long best = -1;
        foreach (var upstream in Upstreams)
        {
            if (upstream.Health.Status is HealthStatus.Healthy or HealthStatus.Lagging)
            {
                best = Math.Max(best, upstream.Health.Head);
            }
        }

        if (best >= 0)
        {
            foreach (var upstream in Upstreams)
            {
                upstream.Health.ApplyLag(best);
            }
        }

        Interlocked.Exchange(ref _bestHead, best);
        _ranking = Ranker.Rank(Upstreams, best, Options.Routing.CircuitBreaker.MinRequests);
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
    }

    /// <summary>
    /// Candidates for a method, best first, at most <paramref name="max"/>. Returns an empty array
    /// when the method is servable but nothing is routable right now. The array may be the ranking
    /// itself (when every ranked upstream is a candidate: no copy per request), so it is never modified.
    /// </summary>
    public Upstream[] Candidates(string method, int max)
    {
        var eligible = Router.Eligible(method);
        var ranking = _ranking;
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
