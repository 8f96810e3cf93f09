using System.Collections.Frozen;
using RpcShield.Configuration;

namespace RpcShield.Routing;

/// <summary>
/// A chain's per-method traits for one config snapshot, eligible upstreams included: a frozen table
/// of the known and literal method names (<see cref="CompiledMethodNames"/>) plus one fallback entry
/// for every name that none of the config's globs matches, so the request path does one lookup
/// instead of matching globs. Only a name outside the table that does match one of the config's
/// globs is computed on its request (and not remembered: a client must not grow the table).
/// </summary>
internal sealed class MethodModel
{
    private readonly ChainOptions _chain;
    private readonly FrozenDictionary<string, MethodTraits> _known;
    private readonly string[] _globs;

    public MethodModel(ChainOptions chain)
    {
        _chain = chain;
        _known = CompiledMethodNames.Of(chain).ToFrozenDictionary(name => name, name => MethodTraits.Match(chain, name), StringComparer.Ordinal);
        _globs = CompiledMethodNames.Globs(chain);
        Fallback = MethodTraits.Unmatched(chain);
    }

    /// <summary>The compiled names (the chain's handler table is keyed by the same set).</summary>
    public IEnumerable<string> Names => _known.Keys;

    /// <summary>The entry of every name outside the table that no glob of the config matches.</summary>
    public MethodTraits Fallback { get; }

    public MethodTraits this[string method] =>
        _known.TryGetValue(method, out var traits) ? traits
        : MethodGlob.MatchesAny(_globs, method) ? MethodTraits.Match(_chain, method)
        : Fallback;
}
