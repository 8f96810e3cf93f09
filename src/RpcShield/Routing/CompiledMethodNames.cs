namespace RpcShield.Routing;

/// <summary>
/// Method names compiled into every chain's tables: <see cref="JsonRpc.KnownMethods"/> (the names
/// RpcShield knows) and the literal names the chain's config gives. Any other name is matched by glob
/// per request and never added to a table (a client must not be able to grow one).
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
                if (!name.Contains('*', StringComparison.Ordinal))
                {
                    names.Add(name);
                }
            }
        }

        return names;
    }

    /// <summary>The method lists of a chain's config whose literal names are compiled.</summary>
    public static HashSet<string> Of(Configuration.ChainOptions chain) =>
        With([chain.Routing.Broadcast, chain.Routing.Fanout, chain.Degradation.ShedInDegraded, chain.Routing.Consistency.Verify.Methods,
            [.. chain.Routing.Timeouts.Methods.Keys], .. chain.Upstreams.Select(u => (IReadOnlyList<string>)u.Methods.Allow)]);
}
