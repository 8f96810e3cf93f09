using System.Collections.Frozen;
using RpcShield.Configuration;

namespace RpcShield.Routing;

/// <summary>
/// A chain's per-method traits for one config snapshot: a frozen table of the known method names
/// (<see cref="CompiledMethodNames"/>), so the request path does one lookup instead of matching globs. Other
/// names are matched by glob on each request and not remembered.
/// </summary>
internal sealed class MethodModel
{
    private readonly ChainOptions _chain;
    private readonly FrozenDictionary<string, MethodTraits> _known;

    public MethodModel(ChainOptions chain)
    {
        _chain = chain;
        _known = CompiledMethodNames.Of(chain).ToFrozenDictionary(name => name, name => MethodTraits.Match(chain, name), StringComparer.Ordinal);
    }

    /// <summary>The compiled names (for tests and /status-style inspection).</summary>
    public IEnumerable<string> Names => _known.Keys;

    public MethodTraits this[string method] => _known.TryGetValue(method, out var traits) ? traits : MethodTraits.Match(_chain, method);
}
