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
/// and connections survive; removed upstreams are disposed after in-flight work has moved on.
/// </summary>
internal sealed partial class ChainRegistry : IDisposable
{
    private readonly TimeProvider _time;
    private readonly RpcShieldMetrics _metrics;
    private readonly ILogger<ChainRegistry> _logger;
    private volatile Snapshot _snapshot;

    public ChainRegistry(ConfigStore config, TimeProvider time, RpcShieldMetrics metrics, ILogger<ChainRegistry> logger)
    {
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _snapshot = Build(config.Current, null);
        config.Changed += (_, next) => Apply(next);
    }

    public IReadOnlyList<ChainRuntime> Chains => _snapshot.Ordered;

    /// <summary>The chain served at `/` (the first configured).</summary>
    public ChainRuntime Default => _snapshot.Ordered[0];

    /// <summary>Raised after a reload published new chain runtimes.</summary>
    public event Action? Reloaded;

    public bool TryGet(string name, out ChainRuntime chain) => _snapshot.ByName.TryGetValue(name, out chain!);

    /// <summary>By a name still inside a request path (no string per request).</summary>
    public bool TryGet(ReadOnlySpan<char> name, out ChainRuntime chain) => _snapshot.ByName.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out chain!);

    /// <summary>Re-ranks the chain <paramref name="upstream"/> belongs to (after a state change outside a request).</summary>
    public void RerankChainOf(Upstream upstream)
    {
        if (TryGet(upstream.Chain, out var chain))
        {
            chain.Rerank();
        }
    }

    public void Apply(ProxyOptions options)
    {
        var previous = _snapshot;
        _snapshot = Build(options, previous);
        var kept = _snapshot.Ordered.SelectMany(c => c.Upstreams).ToHashSet();
        var removed = previous.Ordered.SelectMany(c => c.Upstreams).Where(u => !kept.Contains(u)).ToList();
        if (removed.Count > 0)
        {
            // Requests already holding a removed upstream finish on it; dispose once they are done.
            _ = Task.Delay(TimeSpan.FromSeconds(60), _time).ContinueWith(_ => removed.ForEach(u => u.Dispose()), TaskScheduler.Default);
        }

        Reloaded?.Invoke();
    }

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

            chains.Add(new ChainRuntime(chainOptions, upstreams));
        }

        return new Snapshot(chains, chains.ToFrozenDictionary(c => c.Name, StringComparer.Ordinal));
    }

    public void Dispose()
    {
        foreach (var upstream in _snapshot.Ordered.SelectMany(c => c.Upstreams))
        {
            upstream.Dispose();
        }
    }

    private sealed record Snapshot(IReadOnlyList<ChainRuntime> Ordered, FrozenDictionary<string, ChainRuntime> ByName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chain {Chain}: upstream {Upstream} at {Url}")]
    private partial void LogUpstreamAdded(string chain, string upstream, string url);
}
