namespace RpcShield.Chains;

/// <summary>
/// The one writer of a chain's ranking. Inputs (probe results, health changes from attempts, breaker
/// and throttle transitions, head updates, the health monitor's periodic tick) only <see cref="Signal"/>
/// it: a flag and, when no pass is pending, one thread-pool work item (no allocation, no lock, never
/// blocks). One pass at a time recomputes lag, scores and the ranking and swaps in a new
/// <see cref="RankingSnapshot"/>; signals that arrive during a pass coalesce into a single next pass.
/// Every recompute (pass or <see cref="PublishNow"/>) runs under one lock and stamps the next version,
/// so a ranking computed earlier can never replace one computed later. Request threads only read
/// <see cref="Current"/>.
/// </summary>
internal sealed class RankingPublisher : IThreadPoolWorkItem, IDisposable
{
    private readonly Func<(Upstreams.Upstream[] Ranking, long BestHead)> _compute;
    private readonly Action<Exception>? _failed;
    private readonly Lock _gate = new();
    private RankingSnapshot? _current;
    private long _version;
    private int _dirty;
    private int _scheduled;
    private volatile bool _stopped;

    /// <param name="compute">Recomputes the ranking and the best head (called under the publisher's lock only).</param>
    /// <param name="failed">Told when a recompute throws (the last snapshot stays published).</param>
    public RankingPublisher(Func<(Upstreams.Upstream[] Ranking, long BestHead)> compute, Action<Exception>? failed = null)
    {
        _compute = compute;
        _failed = failed;
    }

    /// <summary>The latest published ranking (null only before the first <see cref="PublishNow"/>).</summary>
    public RankingSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>How many recomputes have published (signalled passes and <see cref="PublishNow"/>): the current version.</summary>
    public long Recomputes => Current?.Version ?? 0;

    /// <summary>True while a signalled pass is queued or running.</summary>
    public bool Busy => Volatile.Read(ref _scheduled) != 0;

    /// <summary>
    /// Asks for a recompute soon. Cheap enough for the request path: one interlocked exchange, plus
    /// one queued work item when no pass is pending.
    /// </summary>
    public void Signal()
    {
        // The exchange is a full fence: the change being signalled is visible to the pass that takes the flag.
        if (_stopped || Interlocked.Exchange(ref _dirty, 1) != 0)
        {
            // A signal not yet taken by a pass: that pass will see this change too.
            return;
        }

        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <summary>
    /// Recomputes and publishes on the calling thread, serialized with the passes. For work that must
    /// see its own change at once and is never a request: building a chain, publishing a reload, tests.
    /// </summary>
    public RankingSnapshot PublishNow()
    {
        Recompute();
        return Current!;
    }

    /// <summary>No more passes after this (a chain replaced by a reload, shutdown); the last snapshot stays readable.</summary>
    public void Dispose() => _stopped = true;

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            while (!_stopped && Interlocked.Exchange(ref _dirty, 0) != 0)
            {
                Recompute();
            }

            Volatile.Write(ref _scheduled, 0);
            // A signal between the last take and the line above saw `scheduled` set and queued nothing: run for it.
            if (_stopped || Volatile.Read(ref _dirty) == 0 || Interlocked.CompareExchange(ref _scheduled, 1, 0) != 0)
            {
                return;
            }
        }
    }

    private void Recompute()
    {
        lock (_gate)
        {
            try
            {
                var (ranking, bestHead) = _compute();
                Volatile.Write(ref _current, new RankingSnapshot(++_version, ranking, bestHead));
            }
            catch (Exception ex)
            {
                // Never on a request thread and never fatal: the previous snapshot stays in force.
                _failed?.Invoke(ex);
            }
        }
    }
}
