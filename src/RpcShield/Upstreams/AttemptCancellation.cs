using System.Collections.Concurrent;

namespace RpcShield.Upstreams;

/// <summary>
/// One token for an attempt: cancelled by the caller or when the attempt's time is up. On the
/// system clock its source comes from a pool and goes back reset (its CancelAfter timer with it),
/// so a steady stream of attempts allocates no source, timer or link per attempt (measured ~350 B);
/// other TimeProviders (tests) drive a fresh source with their own timer.
/// </summary>
internal readonly struct AttemptCancellation : IDisposable
{
    private const int PoolLimit = 1024;
    private static readonly ConcurrentQueue<CancellationTokenSource> Pool = new();
    private static int _pooled;

    private readonly CancellationTokenSource _source;
    private readonly ITimer? _timer;
    private readonly CancellationTokenRegistration _link;
    private readonly CancellationToken _outer;

    /// <summary>The longest timeout a timer takes (CancelAfter throws beyond it, ~49.7 days).</summary>
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public AttemptCancellation(TimeProvider time, TimeSpan timeout, CancellationToken outer)
    {
        // Never throws (the sender counts on it for its guards' bookkeeping): a timeout out of the
        // timer's range is cut to it; Timeout.InfiniteTimeSpan still means none.
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            timeout = timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout > MaxTimeout ? MaxTimeout : timeout;
        }

        _outer = outer;
        var system = ReferenceEquals(time, TimeProvider.System);
        _source = system ? Rent() : new CancellationTokenSource();
        _link = outer.CanBeCanceled ? outer.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _source) : default;
        if (system)
        {
            _source.CancelAfter(timeout);
            _timer = null;
        }
        else
        {
            _timer = time.CreateTimer(static s => ((CancellationTokenSource)s!).Cancel(), _source, timeout, Timeout.InfiniteTimeSpan);
        }
    }

    public CancellationToken Token => _source.Token;

    /// <summary>True when the attempt's own deadline (not the caller) cancelled it.</summary>
    public bool TimedOut => _source.IsCancellationRequested && !_outer.IsCancellationRequested;

    public void Dispose()
    {
        // The link goes first: once disposed, the caller's token can no longer cancel a reused source.
        _link.Dispose();
        if (_timer is null && _source.TryReset())
        {
            if (Interlocked.Increment(ref _pooled) <= PoolLimit)
            {
                Pool.Enqueue(_source);
                return;
            }

            Interlocked.Decrement(ref _pooled);
        }

        _timer?.Dispose();
        _source.Dispose();
    }

    private static CancellationTokenSource Rent()
    {
        if (Pool.TryDequeue(out var source))
        {
            Interlocked.Decrement(ref _pooled);
            return source;
        }

        return new CancellationTokenSource();
    }
}
