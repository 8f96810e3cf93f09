using System.Collections.Frozen;

namespace RpcShield.Routing;

/// <summary>
/// A list of method globs compiled once per config snapshot: the names RpcShield knows and the
/// list's literal names are answered from a frozen table; any other name can only match through
/// the list's globs, so only those are matched (and nothing is remembered: a client must not grow
/// the table). Answers exactly as <see cref="MethodGlob.MatchesAny"/> over the list.
/// </summary>
internal sealed class MethodSet
{
    private readonly FrozenDictionary<string, bool> _compiled;
    private readonly string[] _globs;

    public MethodSet(IReadOnlyList<string> patterns)
    {
        Count = patterns.Count;
        _compiled = CompiledMethodNames.With([patterns]).ToFrozenDictionary(name => name, name => MethodGlob.MatchesAny(patterns, name), StringComparer.Ordinal);
        _globs = [.. patterns.Where(p => p.Contains('*', StringComparison.Ordinal)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Number of patterns in the list (0: the list is empty and matches nothing).</summary>
    public int Count { get; }

    public bool Contains(string method) =>
        _compiled.TryGetValue(method, out var matches) ? matches : _globs.Length > 0 && MethodGlob.MatchesAny(_globs, method);
}
