namespace RpcShield.Upstreams.Heads;

/// <summary>How an observed head relates to the same upstream's previous one.</summary>
internal enum HeadChange
{
    /// <summary>The head it already had.</summary>
    Same,
    /// <summary>A higher head on top of the previous one (or no previous one).</summary>
    Advanced,
    /// <summary>Lower, a different hash at the same height, or a parent that is not the previous head.</summary>
    Reorg,
}

/// <summary>
/// The heads of one chain's upstreams as they arrive: per upstream the last head (number, hash),
/// per block number the time the first upstream showed it. Tells reorgs from advances and how late
/// each upstream's heads arrive behind the first to see each block. Thread-safe.
/// </summary>
internal sealed class HeadBook(TimeProvider time)
{
    /// <summary>Block numbers remembered for the first-seen time (older ones are forgotten).</summary>
    private const int Window = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Head> _last = new(StringComparer.Ordinal);
    private readonly Dictionary<long, long> _firstSeen = [];
    // Per upstream, the hash it showed for each recent block number: a reorg's fork point is found against it.
    private readonly Dictionary<string, Dictionary<long, string>> _hashes = new(StringComparer.Ordinal);
    private long _highest = -1;

    /// <summary>
    /// Records a head. <paramref name="delay"/> is how long after the first upstream this one showed
    /// block <paramref name="number"/> (zero for the first), null when the head did not change.
    /// </summary>
    public HeadChange Observe(string upstream, long number, string? hash, string? parentHash, out TimeSpan? delay, out long previousNumber, out string? previousHash)
    {
        var now = time.GetTimestamp();
        lock (_lock)
        {
            var known = _last.TryGetValue(upstream, out var last);
            (previousNumber, previousHash) = known ? (last.Number, last.Hash) : (-1, null);
            if (known && last.Number == number && (hash is null || last.Hash is null || string.Equals(hash, last.Hash, StringComparison.OrdinalIgnoreCase)))
            {
                delay = null;
                if (hash is not null && last.Hash is null)
                {
                    _last[upstream] = new Head(number, hash);
                    RememberLocked(upstream, number, hash);
                }

                return HeadChange.Same;
            }

            _last[upstream] = new Head(number, hash);
            delay = DelayOf(number, now);
            var reorg = known && (number < last.Number
                || number == last.Number
                || (number == last.Number + 1 && parentHash is not null && last.Hash is not null && !string.Equals(parentHash, last.Hash, StringComparison.OrdinalIgnoreCase)));
            // A reorg's hashes are recorded by the fork search, after it compared them with the old ones.
            if (!reorg && hash is not null)
            {
                RememberLocked(upstream, number, hash);
            }

            return reorg ? HeadChange.Reorg : HeadChange.Advanced;
        }
    }

    /// <summary>Forgets an upstream that left the chain.</summary>
    public void Forget(string upstream)
    {
        lock (_lock)
        {
            _last.Remove(upstream);
            _hashes.Remove(upstream);
        }
    }

    /// <summary>The hash <paramref name="upstream"/> showed for block <paramref name="number"/> (null: not seen, or forgotten).</summary>
    public string? HashOf(string upstream, long number)
    {
        lock (_lock)
        {
            return _hashes.TryGetValue(upstream, out var hashes) && hashes.TryGetValue(number, out var hash) ? hash : null;
        }
    }

    /// <summary>Records the hash of block <paramref name="number"/> on <paramref name="upstream"/>'s chain (learnt while finding a fork point).</summary>
    public void Remember(string upstream, long number, string hash)
    {
        lock (_lock)
        {
            RememberLocked(upstream, number, hash);
        }
    }

    private void RememberLocked(string upstream, long number, string hash)
    {
        if (!_hashes.TryGetValue(upstream, out var hashes))
        {
            hashes = [];
            _hashes[upstream] = hashes;
        }

        hashes[number] = hash;
        if (hashes.Count > Window * 2)
        {
            foreach (var old in hashes.Keys.Where(n => n + Window <= number).ToList())
            {
                hashes.Remove(old);
            }
        }
    }

    private TimeSpan DelayOf(long number, long now)
    {
        if (_firstSeen.TryGetValue(number, out var first))
        {
            return time.GetElapsedTime(first, now);
        }

        if (number + Window <= _highest)
        {
            // Far below anything recent (a node syncing or a deep reorg): no first sighting to compare with.
            return TimeSpan.Zero;
        }

        _firstSeen[number] = now;
        if (number > _highest)
        {
            _highest = number;
            if (_firstSeen.Count > Window * 2)
            {
                foreach (var old in _firstSeen.Keys.Where(n => n + Window <= _highest).ToList())
                {
                    _firstSeen.Remove(old);
                }
            }
        }

        return TimeSpan.Zero;
    }

    private readonly record struct Head(long Number, string? Hash);
}
