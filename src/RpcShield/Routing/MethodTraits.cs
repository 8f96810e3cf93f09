using RpcShield.Configuration;

namespace RpcShield.Routing;

/// <summary>What a chain's config decides about one method, compiled once per snapshot (see <see cref="MethodModel"/>).</summary>
/// <param name="Hedgeable">May be sent twice (not a send, filter or node-state method).</param>
/// <param name="Send">Matches `routing.broadcast` or `routing.fanout` (rejected in minimal mode when configured).</param>
/// <param name="ShedInDegraded">Matches `degradation.shed_in_degraded`.</param>
/// <param name="Deadline">Overall deadline of one request: `routing.timeouts.methods` for this method, else `routing.timeouts.default`.</param>
internal readonly record struct MethodTraits(bool Hedgeable, bool Send, bool ShedInDegraded, TimeSpan Deadline)
{
    /// <summary>The traits by glob matching: the one definition the compiled table is built from.</summary>
    public static MethodTraits Match(ChainOptions chain, string method)
    {
        var routing = chain.Routing;
        var send = MethodGlob.MatchesAny(routing.Broadcast, method) || MethodGlob.MatchesAny(routing.Fanout, method);
        return new MethodTraits(
            HedgePolicy.IsHedgeable(method, routing),
            send,
            MethodGlob.MatchesAny(chain.Degradation.ShedInDegraded, method),
            routing.Timeouts.Methods.TryGetValue(method, out var deadline) ? deadline : routing.Timeouts.Default);
    }
}
