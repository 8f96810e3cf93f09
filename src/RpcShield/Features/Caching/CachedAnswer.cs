using RpcShield.Upstreams.Heads;

namespace RpcShield.Features.Caching;

/// <summary>
/// A kept `result`, the highest block it depends on (-1: none) and that block's hash as the answering
/// node had it (unknown: not checked), for reorg eviction and the hash check before a hit is served.
/// </summary>
internal sealed record CachedAnswer(SharedAnswer Answer, long Block, BlockHash Hash, long Size);
