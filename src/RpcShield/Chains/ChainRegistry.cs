using System.Collections.Frozen;
using Microsoft.Extensions.Logging;
using RpcShield.Configuration;
using RpcShield.Telemetry;
using RpcShield.Upstreams;
using RpcShield.Upstreams.Transport;

namespace RpcShield.Chains;

/// <summary>
/// All chains of the current config. On reload it builds new <see cref="ChainRuntime"/>s but keeps
/// each <see cref="Upstream"/> whose chain, name and URL are unchanged, so learned health, latency
/// and connections survive. Make before break: new upstreams are probed (up to one health timeout)
/// before the new chains are published; removed upstreams are disposed after in-flight work has moved on.
/// </summary>
internal sealed partial class ChainRegistry : IDisposable
{
    private readonly TimeProvider _time;
    private readonly RpcShieldMetrics _metrics;
    private readonly ILogger<ChainRegistry> _logger;
    private volatile Snapshot _snapshot;
    // One reload at a time, in order: a later one builds on what the earlier one published. Never disposed:
    // a reload still probing at shutdown releases it.
    private readonly SemaphoreSlim _applying = new(1, 1);
    private Func<ChainRuntime, Upstream, CancellationToken, Task>? _probe;

    public ChainRegistry(ConfigStore config, TimeProvider time, RpcShieldMetrics metrics, ILogger<ChainRegistry> logger)
    {
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _snapshot = Build(config.Current, null);
        config.Changed += (_, next) => Apply(next);
    }

    /// <summary>
    /// How a reload probes the upstreams it adds (the health monitor's probe). Without one (a
    /// registry used on its own) a reload is published at once.
    /// </summary>
    public void ProbeNewUpstreamsWith(Func<ChainRuntime, Upstream, CancellationToken, Task> probe) => _probe = probe;

    public IReadOnlyList<ChainRuntime> Chains => _snapshot.Ordered;

    /// <summary>The chain served at `/` (the first configured).</summary>
    public ChainRuntime Default => _snapshot.Ordered[0];

    /// <summary>Raised after a reload published new chain runtimes.</summary>
    public event Action? Reloaded;

    public bool TryGet(string name, out ChainRuntime chain) => _snapshot.ByName.TryGetValue(name, out chain!);

    /// <summary>By a name still inside a request path (no string per request).</summary>
    public bool TryGet(ReadOnlySpan<char> name, out ChainRuntime chain) => _snapshot.ByName.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out chain!);

    /// <summary>Signals the ranking publisher of the chain <paramref name="upstream"/> belongs to (never blocks, never reranks on this thread).</summary>
    public void SignalRankingOf(Upstream upstream)
    {
        if (TryGet(upstream.Chain, out var chain))
        {
            chain.SignalRanking();
        }
    }

    /// <summary>Applies a new configuration (see <see cref="ApplyAsync"/>); returns before new upstreams are probed.</summary>
    public void Apply(ProxyOptions options) => _ = ApplyAsync(options);

    /// <summary>
    /// Builds the new chains, probes the upstreams they add or change (all at once, for up to one
    /// health timeout) and only then publishes them, so traffic moves to upstreams already known
    /// to answer. Completes synchronously when nothing needs probing. Never throws.
    /// </summary>
    public async Task ApplyAsync(ProxyOptions options)
    {
        await _applying.WaitAsync().ConfigureAwait(false);
        try
        {
            var previous = _snapshot;
            var next = Build(options, previous);
            var known = previous.Ordered.SelectMany(c => c.Upstreams).ToHashSet();
            var fresh = next.Ordered.SelectMany(c => c.Upstreams.Where(u => !known.Contains(u)).Select(u => (Chain: c, Upstream: u))).ToList();
            if (fresh.Count > 0 && _probe is { } probe)
            {
                await ProbeFirstAsync(fresh, probe).ConfigureAwait(false);
            }

            Publish(next, previous, fresh.Select(f => f.Upstream));
        }
        catch (Exception ex)
        {
            LogReloadFailed(ex);
        }
        finally
        {
            _applying.Release();
        }
    }

    private async Task ProbeFirstAsync(List<(ChainRuntime Chain, Upstream Upstream)> fresh, Func<ChainRuntime, Upstream, CancellationToken, Task> probe)
    {
        var probes = Task.WhenAll(fresh.Select(f => probe(f.Chain, f.Upstream, CancellationToken.None)));
        var bound = fresh.Max(f => f.Chain.Options.Routing.Health.Timeout);
        try
        {
            await probes.WaitAsync(bound, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Bounded: an upstream still unanswered is published as it is (probing) and the monitor carries on.
        }
    }

    private void Publish(Snapshot next, Snapshot previous, IEnumerable<Upstream> fresh)
    {
        foreach (var upstream in fresh)
        {
            // Probed before its chain was published: its strategies (breaker options) are built again from the new chain.
            upstream.AttemptPipeline = null;
            upstream.OptionalAttemptPipeline = null;
        }

        foreach (var chain in next.Ordered)
        {
            // Ranked with what the probes just learned before any request can read it.
            chain.PublishNow();
        }

        _snapshot = next;
        foreach (var chain in previous.Ordered)
        {
            // Replaced: its publisher stops (in-flight requests keep reading its last snapshot).
            chain.Publisher.Dispose();
        }

        foreach (var chain in next.Ordered.Where(c => c.HealthyCount == 0))
        {
            LogNothingHealthy(chain.Name);
        }

        var kept = next.Ordered.SelectMany(c => c.Upstreams).ToHashSet();
        var removed = previous.Ordered.SelectMany(c => c.Upstreams).Where(u => !kept.Contains(u)).ToList();
        if (removed.Count > 0)
        {
            // Requests already holding a removed upstream finish on it: disposed once none can still be using it.
            var grace = previous.Ordered.Max(c => LongestDeadline(c.Options.Routing.Timeouts));
            _ = RetireAsync(removed, grace);
        }

        Reloaded?.Invoke();
    }

    /// <summary>After the longest request deadline (at least 60 s) and once nothing is in flight on them (bounded by another such wait).</summary>
    private async Task RetireAsync(List<Upstream> removed, TimeSpan grace)
    {
        grace = grace > TimeSpan.FromSeconds(60) ? grace : TimeSpan.FromSeconds(60);
        await Task.Delay(grace, _time).ConfigureAwait(false);
        var waited = TimeSpan.Zero;
        while (removed.Any(u => u.InFlight > 0) && waited < grace)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), _time).ConfigureAwait(false);
            waited += TimeSpan.FromSeconds(1);
        }

        removed.ForEach(u => u.Dispose());
    }

    private static TimeSpan LongestDeadline(TimeoutOptions timeouts) =>
        timeouts.Methods.Values.Append(timeouts.Default).Max();

    private Snapshot Build(ProxyOptions options, Snapshot? previous)
    {
        var chains = new List<ChainRuntime>();
        foreach (var chainOptions in options.Chains)
        {
            var upstreams = new List<Upstream>();
            ChainRuntime? old = null;
            previous?.ByName.TryGetValue(chainOptions.Name, out old);
            foreach (var upstreamOptions in chainOptions.Upstreams)
            {
                var existing = old?.Upstreams.FirstOrDefault(u => u.Name == upstreamOptions.Name && u.Url == new Uri(upstreamOptions.Url) && u.Options.Transport == upstreamOptions.Transport);
                if (existing is not null)
                {
                    existing.Options = upstreamOptions;
                    existing.Health.UpdateOptions(chainOptions.Routing.Health);
                    upstreams.Add(existing);
                }
                else
                {
                    upstreams.Add(new Upstream(chainOptions.Name, upstreamOptions, chainOptions.Routing, UpstreamTransports.Create(upstreamOptions, _time), _time, _metrics));
                    LogUpstreamAdded(chainOptions.Name, upstreamOptions.Name, UrlRedaction.Redact(upstreamOptions.Url));
                }
            }

            chains.Add(new ChainRuntime(chainOptions, upstreams, LogRankingFailed));
        }

        return new Snapshot(chains, chains.ToFrozenDictionary(c => c.Name, StringComparer.Ordinal));
    }

    public void Dispose()
    {
        foreach (var chain in _snapshot.Ordered)
        {
            chain.Publisher.Dispose();
        }

        foreach (var upstream in _snapshot.Ordered.SelectMany(c => c.Upstreams))
        {
            upstream.Dispose();
        }
    }

    private sealed record Snapshot(IReadOnlyList<ChainRuntime> Ordered, FrozenDictionary<string, ChainRuntime> ByName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: upstream {Upstream} at {Url}")]
    private partial void LogUpstreamAdded(string chain, string upstream, string url);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chain {Chain}: configuration applied with no healthy upstream")]
    private partial void LogNothingHealthy(string chain);

    [LoggerMessage(Level = LogLevel.Error, Message = "A chain's ranking could not be recomputed; the last one stays in force")]
    private partial void LogRankingFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "Configuration could not be applied to the chains")]
    private partial void LogReloadFailed(Exception ex);
}
