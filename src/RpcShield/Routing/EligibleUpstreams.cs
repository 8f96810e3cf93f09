using RpcShield.Configuration;

namespace RpcShield.Routing;

/// <summary>
/// Which of a chain's upstreams (by config index, as <see cref="ChainOptions.Upstreams"/>) may serve
/// one method: per-upstream allow/deny globs, then the chain's ordered `routes` (first match wins).
/// Immutable; compiled into the chain's <see cref="MethodModel"/> once per config snapshot.
/// </summary>
internal sealed class EligibleUpstreams
{
    private readonly bool[] _mask;

    private EligibleUpstreams(bool[] mask)
    {
        _mask = mask;
        Any = Array.IndexOf(mask, true) >= 0;
    }

    /// <summary>True when at least one upstream may serve the method.</summary>
    public bool Any { get; }

    /// <summary>Number of upstreams (the chain's, in config order).</summary>
    public int Count => _mask.Length;

    /// <summary>True when the upstream at config index <paramref name="index"/> may serve the method.</summary>
    public bool this[int index] => _mask[index];

    /// <summary>A copy of the mask (tests and inspection).</summary>
    public bool[] ToArray() => (bool[])_mask.Clone();

    /// <summary>
    /// The rule (the one definition the compiled table is built from). A null <paramref name="method"/>
    /// stands for a name that no pattern of the chain's config matches (the table's fallback entry).
    /// </summary>
    public static EligibleUpstreams Of(ChainOptions chain, string? method)
    {
        var upstreams = chain.Upstreams;
        var mask = new bool[upstreams.Count];
        MethodRouteOptions? route = null;
        foreach (var candidate in chain.Routes)
        {
            if (MethodTraits.Matches(candidate.Methods, method))
            {
                route = candidate;
                break;
            }
        }

        for (var i = 0; i < upstreams.Count; i++)
        {
            var filter = upstreams[i].Methods;
            mask[i] = (filter.Allow.Count == 0 || MethodTraits.Matches(filter.Allow, method))
                && !MethodTraits.Matches(filter.Deny, method)
                && (route is null || route.Upstreams.Contains(upstreams[i].Name));
        }

        return new EligibleUpstreams(mask);
    }
}
