namespace RpcShield.Features.Fanout;

/// <summary>
/// A lock-protected token bucket on <see cref="TimeProvider"/> timestamps: `rate` tokens per second,
/// burst of max(1, rate). Used for a builder's `max_rps` (over budget = `throttled`, never queued:
/// a bundle that waits is a bundle that misses its block).
/// </summary>
internal sealed class TokenBucket
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly double _capacity;
    private double _tokens;
    private long _last;

    public TokenBucket(double ratePerSecond, TimeProvider time)
    {
        Rate = ratePerSecond;
        _time = time;
        _capacity = Math.Max(1, ratePerSecond);
        _tokens = _capacity;
        _last = time.GetTimestamp();
    }

    public double Rate { get; }

    public bool TryTake()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var elapsed = (now - _last) / (double)_time.TimestampFrequency;
            _last = now;
            _tokens = Math.Min(_capacity, _tokens + (elapsed * Rate));
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }
}
