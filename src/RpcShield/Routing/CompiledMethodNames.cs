using RpcShield.Configuration;

namespace RpcShield.Routing;

/// <summary>
/// Method names compiled into every chain's tables: <see cref="JsonRpc.KnownMethods"/> (the names
/// RpcShield knows) and the literal names the chain's config gives. Any other name is matched against
/// the config's globs per request and never added to a table (a client must not be able to grow one).
/// </summary>
internal static class CompiledMethodNames
{
    /// <summary><see cref="JsonRpc.KnownMethods.All"/> plus every literal (glob-free) name in <paramref name="lists"/>.</summary>
    public static HashSet<string> With(IEnumerable<IReadOnlyList<string>> lists)
    {
        var names = new HashSet<string>(JsonRpc.KnownMethods.All, StringComparer.Ordinal);
        foreach (var list in lists)
        {
            foreach (var name in list)
            {
                if (!IsGlob(name))
                {
                    names.Add(name);
                }
            }
        }

        return names;
    }

    /// <summary>
    /// The names compiled for a chain: known names, the literals of <see cref="Lists"/> and every
    /// `routing.timeouts.methods` key (looked up verbatim, never as a glob).
    /// </summary>
    public static HashSet<string> Of(ChainOptions chain)
    {
        var names = With(Lists(chain));
        names.UnionWith(chain.Routing.Timeouts.Methods.Keys);
        return names;
    }

    /// <summary>
    /// The distinct globs of <see cref="Lists"/>: a name outside the compiled table that matches none
    /// of them gets the table's fallback entry (<see cref="MethodTraits.Unmatched"/>).
    /// </summary>
    public static string[] Globs(ChainOptions chain) =>
        [.. Lists(chain).SelectMany(list => list).Where(IsGlob).Distinct(StringComparer.Ordinal)];

    /// <summary>Every method list of a chain's config (and <see cref="HedgePolicy.NeverHedge"/>) that a method's traits or handler depend on.</summary>
    public static IEnumerable<IReadOnlyList<string>> Lists(ChainOptions chain)
    {
        yield return chain.Routing.Broadcast;
        yield return chain.Routing.Fanout;
        yield return chain.Degradation.ShedInDegraded;
        yield return chain.Routing.Consistency.Verify.Methods;
        yield return HedgePolicy.NeverHedge;
        foreach (var route in chain.Routes)
        {
            yield return route.Methods;
        }

        foreach (var upstream in chain.Upstreams)
        {
            yield return upstream.Methods.Allow;
            yield return upstream.Methods.Deny;
        }
    }

    private static bool IsGlob(string name) => name.Contains('*', StringComparison.Ordinal);
}
