namespace RpcShield.Upstreams;

/// <summary>
/// One token for an attempt: cancelled by the caller or when the attempt's time is up. On the
/// system clock it is a single linked source with CancelAfter (one allocation fewer per attempt
/// than a timer source plus a linked source); other TimeProviders (tests) drive it with their timer.
/// </summary>
internal readonly struct AttemptCancellation : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly ITimer? _timer;
    private readonly CancellationToken _outer;

    public AttemptCancellation(TimeProvider time, TimeSpan timeout, CancellationToken outer)
    {
        _outer = outer;
        _source = outer.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(outer) : new CancellationTokenSource();
        if (ReferenceEquals(time, TimeProvider.System))
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
        _timer?.Dispose();
        _source.Dispose();
    }
}
