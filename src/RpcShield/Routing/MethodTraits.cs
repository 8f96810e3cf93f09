using RpcShield.Configuration;

namespace RpcShield.Routing;

/// <summary>What a chain's config decides about one method, compiled once per snapshot (see <see cref="MethodModel"/>).</summary>
/// <param name="Hedgeable">May be sent twice (not a send, filter or node-state method).</param>
/// <param name="Broadcast">Matches `routing.broadcast` (served by the broadcast handler).</param>
/// <param name="Fanout">Matches `routing.fanout` (served by the fan-out handler on chains with builders).</param>
/// <param name="ShedInDegraded">Matches `degradation.shed_in_degraded`.</param>
/// <param name="Verified">Matches `routing.consistency.verify.methods` (served by the verified-read handler).</param>
/// <param name="Timeout">The method's own `routing.timeouts.methods` entry, if any.</param>
/// <param name="Deadline">Overall deadline of one request: <paramref name="Timeout"/>, else `routing.timeouts.default`.</param>
/// <param name="Eligible">Which upstreams may serve it (upstream allow/deny, then `routes`).</param>
internal sealed record MethodTraits(
    bool Hedgeable, bool Broadcast, bool Fanout, bool ShedInDegraded, bool Verified, TimeSpan? Timeout, TimeSpan Deadline, EligibleUpstreams Eligible)
{
    /// <summary>Matches `routing.broadcast` or `routing.fanout` (rejected in minimal mode when configured).</summary>
    public bool Send => Broadcast || Fanout;

    /// <summary>The traits by glob matching: the one definition the compiled table is built from.</summary>
    public static MethodTraits Match(ChainOptions chain, string method) => Compute(chain, method);

    /// <summary>The traits of any name that no literal or glob of the chain's config (nor <see cref="HedgePolicy"/>) matches.</summary>
    public static MethodTraits Unmatched(ChainOptions chain) => Compute(chain, null);

    /// <summary>True when a pattern matches; a null method (see <see cref="Unmatched"/>) matches none.</summary>
    internal static bool Matches(IReadOnlyList<string> patterns, string? method) => method is not null && MethodGlob.MatchesAny(patterns, method);

    /// <summary>Send-ness by glob on the options (upstream-scope chaos, which has no chain runtime at hand).</summary>
    public static bool IsSend(ChainOptions chain, string method) =>
        Matches(chain.Routing.Broadcast, method) || Matches(chain.Routing.Fanout, method);

    private static MethodTraits Compute(ChainOptions chain, string? method)
    {
        var routing = chain.Routing;
        var verify = routing.Consistency.Verify.Methods;
        TimeSpan? timeout = method is not null && routing.Timeouts.Methods.TryGetValue(method, out var own) ? own : null;
        return new MethodTraits(
            method is null || HedgePolicy.IsHedgeable(method, routing),
            Matches(routing.Broadcast, method),
            Matches(routing.Fanout, method),
            Matches(chain.Degradation.ShedInDegraded, method),
            verify.Count > 0 && Matches(verify, method),
            timeout,
            timeout ?? routing.Timeouts.Default,
            EligibleUpstreams.Of(chain, method));
    }
}
