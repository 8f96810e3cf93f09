using RpcShield.Upstreams;

namespace RpcShield.Chains;

/// <summary>
/// One published ranking of a chain: immutable, read whole by request threads (the ranking and the
/// best head it was computed against always belong together). <see cref="Version"/> only rises.
/// </summary>
internal sealed record RankingSnapshot(long Version, Upstream[] Ranking, long BestHead);
