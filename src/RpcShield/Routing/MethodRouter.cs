using System.Collections.Concurrent;
using RpcShield.Configuration;

namespace RpcShield.Routing;

/// <summary>
/// Which upstreams (by config index) may serve a method: per-upstream allow/deny globs, then the
/// chain's ordered `routes` (first match wins). Answers are cached per method name.
/// </summary>
internal sealed class MethodRouter
{
    private const int MaxCachedMethods = 2048;
    private readonly ChainOptions _chain;
    private readonly ConcurrentDictionary<string, bool[]> _cache = new(StringComparer.Ordinal);

    public MethodRouter(ChainOptions chain) => _chain = chain;

    /// <summary>Eligibility mask indexed like <see cref="ChainOptions.Upstreams"/>.</summary>
    public bool[] Eligible(string method)
    {
        if (_cache.TryGetValue(method, out var cached))
        {
            return cached;
        }

        var mask = Compute(method);
        if (_cache.Count < MaxCachedMethods)
        {
            _cache.TryAdd(method, mask);
        }

        return mask;
    }

    /// <summary>True when at least one upstream may serve the method.</summary>
    public bool IsServable(string method) => Array.IndexOf(Eligible(method), true) >= 0;

    private bool[] Compute(string method)
    {
        var upstreams = _chain.Upstreams;
        var mask = new bool[upstreams.Count];
        MethodRouteOptions? route = null;
        foreach (var candidate in _chain.Routes)
        {
            if (MethodGlob.MatchesAny(candidate.Methods, method))
            {
                route = candidate;
                break;
            }
        }

        for (var i = 0; i < upstreams.Count; i++)
        {
            var filter = upstreams[i].Methods;
            var allowed = (filter.Allow.Count == 0 || MethodGlob.MatchesAny(filter.Allow, method))
                && !MethodGlob.MatchesAny(filter.Deny, method)
                && (route is null || route.Upstreams.Contains(upstreams[i].Name));
            mask[i] = allowed;
        }

        return mask;
    }
}
