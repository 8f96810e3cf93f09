namespace RpcShield.Upstreams;

/// <summary>Success/failure counts in one-second buckets over a sliding window.</summary>
internal sealed class ErrorWindow
{
    private readonly TimeProvider _time;
    private readonly int _buckets;
    private readonly long[] _ok;
    private readonly long[] _failed;
    private readonly long[] _second;
    private readonly Lock _lock = new();

    public ErrorWindow(TimeProvider time, TimeSpan window)
    {
        _time = time;
        _buckets = Math.Max(1, (int)Math.Ceiling(window.TotalSeconds));
        _ok = new long[_buckets];
        _failed = new long[_buckets];
        _second = new long[_buckets];
    }

    public void Record(bool success)
    {
        var second = _time.GetUtcNow().ToUnixTimeSeconds();
        var i = (int)(second % _buckets);
        lock (_lock)
        {
            if (_second[i] != second)
            {
                _second[i] = second;
                _ok[i] = 0;
                _failed[i] = 0;
            }

            if (success)
            {
                _ok[i]++;
            }
            else
            {
                _failed[i]++;
            }
        }
    }

    /// <summary>(successes, failures) within the window.</summary>
    public (long Ok, long Failed) Totals()
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        long ok = 0, failed = 0;
        lock (_lock)
        {
            for (var i = 0; i < _buckets; i++)
            {
                if (now - _second[i] < _buckets)
                {
                    ok += _ok[i];
                    failed += _failed[i];
                }
            }
        }

        return (ok, failed);
    }

    /// <summary>Failure ratio, or 0 below <paramref name="minSamples"/> (too little data to judge).</summary>
    public double ErrorRate(int minSamples)
    {
        var (ok, failed) = Totals();
        var total = ok + failed;
        return total < minSamples ? 0 : (double)failed / total;
    }
}
