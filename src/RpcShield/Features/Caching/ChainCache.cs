using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Prometheus;
using RpcShield.Upstreams.Heads;

namespace RpcShield.Features.Caching;

/// <summary>
/// One chain's cache: final data in a size-bounded <see cref="MemoryCache"/> (least recently used
/// evicted past its share of `max_bytes`), head data in the current <see cref="HeadGeneration"/>,
/// the reads in flight, and what is final (the node's `finalized` block, else head − `finality_depth`).
/// </summary>
internal sealed class ChainCache : IDisposable
{
    /// <summary>What an entry costs beyond its key and value bytes (MemoryCache entry, key, value and answer objects, array headers, dictionary slot): measured ~470 B by the bench's memory scenario.</summary>
    internal const int EntryOverhead = 512;

    private readonly MemoryCache _final;
    private readonly PostEvictionCallbackRegistration _evicted;
    private readonly Counter.Child _capacityEvictions;
    private readonly Counter.Child _reorgEvictions;
    private readonly Counter.Child _headEvictions;
    private readonly Counter.Child _hashEvictions;
    private readonly IBlockHashes? _hashes;
    private readonly string _chain;
    private readonly Gauge.Child _bytesGauge;
    private volatile HeadGeneration _head = new(-1, null);
    private long _finalBytes;
    private long _nodeFinalized = -1;
    private int _refreshing;

    public ChainCache(string chain, CacheSettings settings, Counter requests, Counter evictions, Gauge bytes, IBlockHashes? hashes = null)
    {
        Requests = new CacheRequestCounters(requests, chain);
        _chain = chain;
        _hashes = hashes;
        Settings = settings;
        // Head data gets an eighth of the budget, final data the rest: together never more than max_bytes.
        HeadBudget = settings.MaxBytes / 8;
        MaxEntryBytes = settings.MaxBytes / 16;
        _final = new MemoryCache(new MemoryCacheOptions { SizeLimit = settings.MaxBytes - HeadBudget, CompactionPercentage = 0.1 });
        _evicted = new PostEvictionCallbackRegistration { EvictionCallback = OnEvicted };
        _capacityEvictions = evictions.WithLabels(chain, "capacity");
        _reorgEvictions = evictions.WithLabels(chain, "reorg");
        _headEvictions = evictions.WithLabels(chain, "new_head");
        _hashEvictions = evictions.WithLabels(chain, "hash_mismatch");
        _bytesGauge = bytes.WithLabels(chain);
        _bytesGauge.Set(0);
    }

    public CacheSettings Settings { get; }

    /// <summary>Reads counted by method and result (`rpcshield_cache_requests_total` and the /status tallies).</summary>
    public CacheRequestCounters Requests { get; }

    public long HeadBudget { get; }

    /// <summary>Answers larger than this are served but not kept.</summary>
    public long MaxEntryBytes { get; }

    public HeadGeneration Head => _head;

    /// <summary>Final, by-hash and for-ever reads in flight.</summary>
    public ConcurrentDictionary<CacheKey, InFlightRead> Flights { get; } = new();

    public long Bytes => Interlocked.Read(ref _finalBytes) + _head.Bytes;

    public long Entries => _final.Count + _head.Entries.Count;

    /// <summary>The highest final block when the best head is <paramref name="bestHead"/> (-1: nothing is final yet).</summary>
    public long Finalized(long bestHead)
    {
        if (bestHead < 0)
        {
            return -1;
        }

        var node = Interlocked.Read(ref _nodeFinalized);
        return node >= 0 ? Math.Min(node, bestHead) : bestHead - Settings.FinalityDepth;
    }

    /// <summary>The node's `finalized` block (-1: it does not answer the tag; head − finality_depth is used).</summary>
    public void NodeFinalized(long block) => Interlocked.Exchange(ref _nodeFinalized, block);

    /// <summary>True for the one caller that should refresh the finalized block now; <see cref="Refreshed"/> when done.</summary>
    public bool BeginRefresh() => Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0;

    public void Refreshed() => Volatile.Write(ref _refreshing, 0);

    /// <summary>
    /// The kept answer of <paramref name="key"/>, unless the block it came from no longer has the hash
    /// it recorded on the chain's best head (a reorg seen without a reorg event, or an answer of the old
    /// chain kept after one): such an entry is evicted (`hash_mismatch`) and the read goes upstream.
    /// </summary>
    public bool TryGet(CacheKey key, CacheRuleKind kind, HeadGeneration generation, out SharedAnswer answer)
    {
        if (kind == CacheRuleKind.Head ? generation.Entries.TryGetValue(key, out var cached) : _final.TryGetValue(key, out cached))
        {
            if (!Stale(cached!))
            {
                answer = cached!.Answer;
                return true;
            }

            if (kind == CacheRuleKind.Head ? generation.Remove(key) : Remove(key))
            {
                _hashEvictions.Inc();
                _bytesGauge.Set(Bytes);
            }
        }

        answer = null!;
        return false;
    }

    private bool Stale(CachedAnswer cached) =>
        cached.Hash.IsKnown && _hashes?.CanonicalHash(_chain, cached.Block) is { IsKnown: true } canonical && canonical != cached.Hash;

    private bool Remove(CacheKey key)
    {
        if (!_final.TryGetValue(key, out _))
        {
            return false;
        }

        _final.Remove(key);
        return true;
    }

    /// <summary>
    /// Keeps a node's answer (head data only while <paramref name="generation"/> is still the current head,
    /// recorded at that head's number and hash; final data only when no reorg came since <paramref name="generation"/>); false when it is too large. <paramref name="hash"/> is
    /// the hash of <paramref name="block"/> the answer came from (unknown: not checked before a hit).
    /// </summary>
    public bool Put(CacheKey key, CacheRuleKind kind, long block, BlockHash hash, SharedAnswer answer, HeadGeneration generation)
    {
        var size = key.Bytes.Length + answer.Value.Length + EntryOverhead;
        if (size > MaxEntryBytes)
        {
            return false;
        }

        if (kind == CacheRuleKind.Head)
        {
            var head = new CachedAnswer(answer, generation.Number, generation.BlockHash, size);
            if (generation == _head && generation.TryAdd(key, head, HeadBudget))
            {
                _bytesGauge.Set(Bytes);
            }

            return true;
        }

        if (generation.Reorgs != _head.Reorgs)
        {
            // Read before a reorg that has since evicted from its fork point: it may be of the replaced chain.
            return true;
        }

        var cached = new CachedAnswer(answer, block, hash, size);
        using (var entry = _final.CreateEntry(key))
        {
            entry.Size = size;
            entry.Value = cached;
            entry.PostEvictionCallbacks.Add(_evicted);
            // Counted before it is added: an entry refused for want of room is reported (and uncounted) by the callback.
            Interlocked.Add(ref _finalBytes, size);
        }

        _bytesGauge.Set(Bytes);
        return true;
    }

    /// <summary>A new best head: head data of the previous one is dropped at once. False when <paramref name="number"/>/<paramref name="hash"/> is not new.</summary>
    public bool OnHead(long number, string? hash, bool reorg)
    {
        var current = _head;
        if (!reorg && (number < current.Number || (number == current.Number && string.Equals(hash, current.Hash, StringComparison.Ordinal))))
        {
            return false;
        }

        if (Interlocked.CompareExchange(ref _head, new HeadGeneration(number, hash, reorg ? current.Reorgs + 1 : current.Reorgs), current) != current)
        {
            return false;
        }

        if (!current.Entries.IsEmpty)
        {
            _headEvictions.Inc(current.Entries.Count);
        }

        _bytesGauge.Set(Bytes);
        return true;
    }

    /// <summary>Evicts every kept answer that depends on block <paramref name="from"/> or above.</summary>
    public int EvictFrom(long from)
    {
        var evicted = 0;
        foreach (var key in _final.Keys)
        {
            if (_final.TryGetValue(key, out var value) && value is CachedAnswer { Block: var block } && block >= from)
            {
                _final.Remove(key);
                evicted++;
            }
        }

        if (evicted > 0)
        {
            _reorgEvictions.Inc(evicted);
        }

        return evicted;
    }

    private void OnEvicted(object key, object? value, EvictionReason reason, object? state)
    {
        if (value is CachedAnswer cached)
        {
            Interlocked.Add(ref _finalBytes, -cached.Size);
        }

        if (reason == EvictionReason.Capacity)
        {
            _capacityEvictions.Inc();
        }

        _bytesGauge.Set(Bytes);
    }

    public (long Hits, long Misses, long Coalesced, long Bypassed) Counts =>
        (Requests.Tally(CacheResults.Hit), Requests.Tally(CacheResults.Miss), Requests.Tally(CacheResults.Coalesced), Requests.Tally(CacheResults.Bypass));

    public void Dispose()
    {
        _final.Dispose();
        _bytesGauge.Set(0);
    }
}
