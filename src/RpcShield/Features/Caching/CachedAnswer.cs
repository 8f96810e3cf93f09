namespace RpcShield.Features.Caching;

/// <summary>A kept `result` and the highest block it depends on (-1: none), for reorg eviction.</summary>
internal sealed record CachedAnswer(SharedAnswer Answer, long Block, long Size);
