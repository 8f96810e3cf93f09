using System.Collections.Frozen;
using RpcShield.Configuration;
using RpcShield.Telemetry;
using RpcShield.Upstreams;

namespace RpcShield.Features.Fanout;

/// <summary>
/// The builders of every chain for the current config snapshot. On reload an endpoint whose chain,
/// name and URL are unchanged is kept (its connections, budget and statistics survive); removed
/// endpoints are disposed once in-flight submissions have had time to finish.
/// </summary>
internal sealed class BuilderRegistry : IDisposable
{
    private readonly TimeProvider _time;
    private readonly RpcShieldMetrics _metrics;
    private readonly UpstreamClientFactory _clients = new();
    private volatile FrozenDictionary<string, BuilderEndpoint[]> _byChain;

    public BuilderRegistry(ConfigStore config, TimeProvider time, RpcShieldMetrics metrics)
    {
        _time = time;
        _metrics = metrics;
        _byChain = Build(config.Current, null);
        config.Changed += (_, next) => Apply(next);
    }

    /// <summary>Builders of a chain in config order (empty when none).</summary>
    public BuilderEndpoint[] For(string chain) => _byChain.TryGetValue(chain, out var builders) ? builders : [];

    public BuilderEndpoint? Find(string chain, string name) => Array.Find(For(chain), b => b.Name == name);

    public void Apply(ProxyOptions options)
    {
        var previous = _byChain;
        _byChain = Build(options, previous);
        var kept = _byChain.Values.SelectMany(b => b).ToHashSet();
        var removed = previous.Values.SelectMany(b => b).Where(b => !kept.Contains(b)).ToList();
        if (removed.Count > 0)
        {
            _ = Task.Delay(TimeSpan.FromSeconds(60), _time).ContinueWith(_ => removed.ForEach(b => b.Dispose()), TaskScheduler.Default);
        }
    }

    private FrozenDictionary<string, BuilderEndpoint[]> Build(ProxyOptions options, FrozenDictionary<string, BuilderEndpoint[]>? previous)
    {
        var result = new Dictionary<string, BuilderEndpoint[]>(StringComparer.Ordinal);
        foreach (var chain in options.Chains)
        {
            var old = previous is not null && previous.TryGetValue(chain.Name, out var list) ? list : [];
            var endpoints = new BuilderEndpoint[chain.Builders.Count];
            for (var i = 0; i < endpoints.Length; i++)
            {
                var builder = chain.Builders[i];
                var urls = BuilderEndpoint.UrlsOf(builder);
                var existing = Array.Find(old, b => b.Name == builder.Name && b.UrlList.AsSpan().SequenceEqual(urls));
                if (existing is not null)
                {
                    existing.Options = builder;
                    endpoints[i] = existing;
                }
                else
                {
                    endpoints[i] = new BuilderEndpoint(chain.Name, builder, _clients.Create(), _time, _metrics);
                }
            }

            result[chain.Name] = endpoints;
        }

        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public void Dispose()
    {
        foreach (var builder in _byChain.Values.SelectMany(b => b))
        {
            builder.Dispose();
        }
    }
}
