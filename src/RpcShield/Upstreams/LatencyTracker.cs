namespace RpcShield.Upstreams;

/// <summary>
/// Latency of successful calls: a peak-EWMA (jumps up at once on a slow call, decays with a
/// 10 s time constant) for ranking, and a ring of recent samples for percentiles.
/// </summary>
internal sealed class LatencyTracker
{
    private const int RingSize = 512;
    private static readonly double DecayTauMs = 10_000;

    private readonly double[] _ring = new double[RingSize];
    private readonly Lock _lock = new();
    private int _count;
    private int _next;
    private double _ewmaMs;
    private long _lastTimestamp;
    private readonly TimeProvider _time;

    public LatencyTracker(TimeProvider time, double coldStartMs = 50)
    {
        _time = time;
        _ewmaMs = coldStartMs;
        _lastTimestamp = time.GetTimestamp();
    }

    public double PeakEwmaMs
    {
        get
        {
            lock (_lock)
            {
                return _ewmaMs;
            }
        }
    }

    public int SampleCount => Volatile.Read(ref _count);

    public void Record(TimeSpan latency)
    {
        var ms = latency.TotalMilliseconds;
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            var elapsedMs = _time.GetElapsedTime(_lastTimestamp, now).TotalMilliseconds;
            _lastTimestamp = now;
            if (ms > _ewmaMs)
            {
                _ewmaMs = ms;
            }
            else
            {
                var w = Math.Exp(-Math.Max(elapsedMs, 1) / DecayTauMs);
                _ewmaMs = (_ewmaMs * w) + (ms * (1 - w));
            }

            _ring[_next] = ms;
            _next = (_next + 1) % RingSize;
            if (_count < RingSize)
            {
                _count++;
            }
        }
    }

    /// <summary>Seeds the tracker from a persisted prior (start-up) without overwriting live data.</summary>
    public void Seed(double ewmaMs)
    {
        lock (_lock)
        {
            if (_count == 0 && ewmaMs > 0)
            {
                _ewmaMs = ewmaMs;
            }
        }
    }

    /// <summary>Quantile (0..1) of recent samples in ms, or null without samples.</summary>
    public double? Quantile(double q)
    {
        double[] copy;
        lock (_lock)
        {
            if (_count == 0)
            {
                return null;
            }

            copy = _ring.AsSpan(0, _count).ToArray();
        }

        return Telemetry.Quantile.OfUnsorted(copy, q);
    }
}
