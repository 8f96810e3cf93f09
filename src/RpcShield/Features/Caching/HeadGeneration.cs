using System.Collections.Concurrent;
using RpcShield.Upstreams.Heads;

namespace RpcShield.Features.Caching;

/// <summary>
/// Head data of one best head (number and hash) and the reads in flight under it: replaced as a
/// whole the moment a new head or a reorg is published, so nothing of an older head is served.
/// </summary>
internal sealed class HeadGeneration(long number, string? hash, long reorgs = 0)
{
    private long _bytes;

    public long Number { get; } = number;

    public string? Hash { get; } = hash;

    /// <summary>How many reorgs the store had seen when this head became current.</summary>
    public long Reorgs { get; } = reorgs;

    /// <summary><see cref="Hash"/> as head entries record it (unknown when the head came without one).</summary>
    public BlockHash BlockHash { get; } = BlockHash.Parse(hash);

    public ConcurrentDictionary<CacheKey, CachedAnswer> Entries { get; } = new();

    /// <summary>Head and share-only reads in flight under this head.</summary>
    public ConcurrentDictionary<CacheKey, InFlightRead> Flights { get; } = new();

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Keeps <paramref name="answer"/> unless that would pass <paramref name="budget"/> bytes.</summary>
    public bool TryAdd(CacheKey key, CachedAnswer answer, long budget)
    {
        if (Interlocked.Add(ref _bytes, answer.Size) > budget || !Entries.TryAdd(key, answer))
        {
            Interlocked.Add(ref _bytes, -answer.Size);
            return false;
        }

        return true;
    }

    /// <summary>Drops the entry of <paramref name="key"/> (its hash no longer matches the chain's); false when gone already.</summary>
    public bool Remove(CacheKey key)
    {
        if (!Entries.TryRemove(key, out var removed))
        {
            return false;
        }

        Interlocked.Add(ref _bytes, -removed.Size);
        return true;
    }
}
