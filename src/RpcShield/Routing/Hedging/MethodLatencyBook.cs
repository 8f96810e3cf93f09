using System.Collections.Concurrent;
using RpcShield.JsonRpc;

namespace RpcShield.Routing.Hedging;

/// <summary>
/// Recent successful-attempt latency per (chain, method) across all upstreams of the chain: the
/// input of the adaptive hedge delay. Methods outside <see cref="KnownMethods"/> share one `other` entry.
/// </summary>
internal sealed class MethodLatencyBook
{
    private readonly ConcurrentDictionary<(string Chain, string Method), MethodLatency> _entries = new();
    private readonly TimeProvider _time;

    public MethodLatencyBook(TimeProvider time) => _time = time;

    public void Record(string chain, string method, TimeSpan latency) =>
        _entries.GetOrAdd((chain, KnownMethods.Label(method)), static _ => new MethodLatency()).Record(latency.TotalMilliseconds);

    /// <summary>The <paramref name="q"/> quantile in ms, or null with fewer than <paramref name="minSamples"/> samples.</summary>
    public double? Quantile(string chain, string method, double q, int minSamples) =>
        _entries.TryGetValue((chain, KnownMethods.Label(method)), out var entry) ? entry.Quantile(q, minSamples, _time) : null;

    /// <summary>Ring of the last 256 samples; the quantile is recomputed at most every 100 ms.</summary>
    private sealed class MethodLatency
    {
        private const int Size = 256;
        private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(100);
        private readonly double[] _ring = new double[Size];
        private readonly Lock _lock = new();
        private int _count;
        private int _next;
        private long _version;
        private long _cachedVersion = -1;
        private double _cachedQ = double.NaN;
        private double _cached;
        private long _cachedAt;

        public void Record(double ms)
        {
            lock (_lock)
            {
                _ring[_next] = ms;
                _next = (_next + 1) % Size;
                _count = Math.Min(_count + 1, Size);
                _version++;
            }
        }

        public double? Quantile(double q, int minSamples, TimeProvider time)
        {
            double[] copy;
            var now = time.GetTimestamp();
            lock (_lock)
            {
                if (_count < Math.Max(1, minSamples))
                {
                    return null;
                }

                if (_cachedQ == q && (_cachedVersion == _version || time.GetElapsedTime(_cachedAt, now) < Refresh))
                {
                    return _cached;
                }

                copy = _ring.AsSpan(0, _count).ToArray();
                _cachedVersion = _version;
            }

            var value = Telemetry.Quantile.OfUnsorted(copy, q)!.Value;
            lock (_lock)
            {
                _cached = value;
                _cachedQ = q;
                _cachedAt = now;
            }

            return value;
        }
    }
}
