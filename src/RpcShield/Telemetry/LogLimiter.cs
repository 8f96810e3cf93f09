namespace RpcShield.Telemetry;

/// <summary>
/// A small token bucket per log category: a burst of <see cref="Burst"/> lines, then one per
/// <see cref="RefillInterval"/>. What it holds back is counted in
/// `rpcshield_log_suppressed_total{category}`, so a flood costs a counter, not the disk.
/// </summary>
internal sealed class LogLimiter
{
    public const int Burst = 10;
    public static readonly TimeSpan RefillInterval = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private readonly Dictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public LogLimiter(RpcShieldMetrics metrics, TimeProvider time)
    {
        _time = time;
        foreach (var category in LogCategories.All)
        {
            _buckets[category] = new Bucket(metrics.LogSuppressed.WithLabels(category), time.GetTimestamp());
        }
    }

    /// <summary>
    /// True when a line of <paramref name="category"/> may be written now; <paramref name="suppressed"/>
    /// is how many were held back since the last one written (to say so in that line).
    /// </summary>
    public bool TryAcquire(string category, out long suppressed)
    {
        lock (_lock)
        {
            var bucket = _buckets[category];
            var now = _time.GetTimestamp();
            var refills = (long)(_time.GetElapsedTime(bucket.RefilledAt, now) / RefillInterval);
            if (refills > 0)
            {
                bucket.Tokens = (int)Math.Min(Burst, bucket.Tokens + refills);
                bucket.RefilledAt = now;
            }

            if (bucket.Tokens > 0)
            {
                bucket.Tokens--;
                suppressed = bucket.Suppressed;
                bucket.Suppressed = 0;
                return true;
            }

            bucket.Suppressed++;
            bucket.Counter.Inc();
            suppressed = 0;
            return false;
        }
    }

    private sealed class Bucket(Prometheus.Counter.Child counter, long refilledAt)
    {
        public Prometheus.Counter.Child Counter { get; } = counter;
        public long RefilledAt { get; set; } = refilledAt;
        public int Tokens { get; set; } = Burst;
        public long Suppressed { get; set; }
    }
}

/// <summary>The `category` values of `rpcshield_log_suppressed_total` (each exists at 0 from the first scrape).</summary>
internal static class LogCategories
{
    /// <summary>A request RpcShield could not read (malformed body, client gone): debug, the client's fault.</summary>
    public const string ClientError = "client_error";

    /// <summary>An unexpected failure while serving a request (a bug or a broken dependency): warning.</summary>
    public const string RequestFailure = "request_failure";

    /// <summary>Journal writes failing (full disk, I/O errors).</summary>
    public const string Journal = "journal";

    public static readonly string[] All = [ClientError, RequestFailure, Journal];
}
