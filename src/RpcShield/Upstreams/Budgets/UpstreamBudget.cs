namespace RpcShield.Upstreams.Budgets;

/// <summary>
/// Rate budget of one upstream: a token bucket (`max_rps`, burst = max(1, max_rps)), a concurrency
/// cap (`max_concurrency`), and the throttle backoff the upstream asked for (HTTP 429 / -32005):
/// `Retry-After` when given (capped at 10 min), else exponential from 1 s doubling to 60 s;
/// reset by the next answer that is not throttled. All timing through the injected TimeProvider.
/// </summary>
internal sealed class UpstreamBudget
{
    public static readonly TimeSpan InitialBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(10);

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private double _tokens = double.NaN;
    private long _refilledAt;
    private int _inFlight;
    private int _consecutiveThrottles;
    private long _throttledUntil;

    public UpstreamBudget(TimeProvider time) => _time = time;

    /// <summary>Timer that re-admits the upstream when the backoff ends (kept here so it stays rooted).</summary>
    internal ITimer? ExpiryTimer;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Takes one request slot; false when over `max_rps` or `max_concurrency` (never waits).</summary>
    public bool TryAcquire(double maxRps, int maxConcurrency)
    {
        if (maxConcurrency > 0 && Interlocked.Increment(ref _inFlight) > maxConcurrency)
        {
            Interlocked.Decrement(ref _inFlight);
            return false;
        }

        if (maxConcurrency <= 0)
        {
            Interlocked.Increment(ref _inFlight);
        }

        if (maxRps > 0 && !TryTakeToken(maxRps))
        {
            Interlocked.Decrement(ref _inFlight);
            return false;
        }

        return true;
    }

    public void Release() => Interlocked.Decrement(ref _inFlight);

    private bool TryTakeToken(double maxRps)
    {
        var burst = Math.Max(1, maxRps);
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (double.IsNaN(_tokens))
            {
                _tokens = burst;
            }
            else
            {
                _tokens = Math.Min(burst, _tokens + (_time.GetElapsedTime(_refilledAt, now).TotalSeconds * maxRps));
            }

            _refilledAt = now;
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }

    /// <summary>True while a throttle backoff is running.</summary>
    public bool IsThrottled => RemainingBackoff > TimeSpan.Zero;

    public TimeSpan RemainingBackoff
    {
        get
        {
            var now = _time.GetTimestamp();
            var until = Interlocked.Read(ref _throttledUntil);
            return until > now ? _time.GetElapsedTime(now, until) : TimeSpan.Zero;
        }
    }

    /// <summary>Starts (or extends) the backoff after a throttled answer and returns its length.</summary>
    public TimeSpan Throttled(TimeSpan? retryAfter)
    {
        lock (_lock)
        {
            _consecutiveThrottles++;
            TimeSpan backoff;
            if (retryAfter is { } hinted && hinted > TimeSpan.Zero)
            {
                backoff = hinted > MaxRetryAfter ? MaxRetryAfter : hinted;
            }
            else
            {
                var factor = Math.Pow(2, Math.Min(_consecutiveThrottles - 1, 16));
                backoff = TimeSpan.FromTicks((long)Math.Min(InitialBackoff.Ticks * factor, MaxBackoff.Ticks));
            }

            var until = _time.GetTimestamp() + (long)(backoff.TotalSeconds * _time.TimestampFrequency);
            Interlocked.Exchange(ref _throttledUntil, Math.Max(until, Interlocked.Read(ref _throttledUntil)));
            return backoff;
        }
    }

    /// <summary>An answer that was not throttled: the exponential backoff starts over.</summary>
    public void Answered()
    {
        if (Volatile.Read(ref _consecutiveThrottles) != 0)
        {
            lock (_lock)
            {
                _consecutiveThrottles = 0;
            }
        }
    }
}
