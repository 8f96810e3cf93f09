namespace RpcShield.Features.Fanout;

/// <summary>
/// Collects the outcomes of one fan-out as builders finish (any thread): remembers the first
/// builder that accepted, and signals "first success" and "all finished".
/// </summary>
internal sealed class FanoutRun
{
    private readonly BuilderOutcome?[] _outcomes;
    private readonly TaskCompletionSource _firstOkOrAll = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _remaining;
    private int _firstOk = -1;

    public FanoutRun(int count)
    {
        _outcomes = new BuilderOutcome?[count];
        _remaining = count;
    }

    /// <summary>The first builder that accepted (null while none has).</summary>
    public BuilderOutcome? FirstOk => Volatile.Read(ref _firstOk) is >= 0 and var i ? Volatile.Read(ref _outcomes[i]) : null;

    public int FirstOkIndex => Volatile.Read(ref _firstOk);

    public bool AllDone => Volatile.Read(ref _remaining) == 0;

    public void Complete(int index, BuilderOutcome outcome)
    {
        Volatile.Write(ref _outcomes[index], outcome);
        if (outcome.IsOk && Interlocked.CompareExchange(ref _firstOk, index, -1) == -1)
        {
            _firstOkOrAll.TrySetResult();
        }

        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _firstOkOrAll.TrySetResult();
            _all.TrySetResult();
        }
    }

    /// <summary>Waits for the first success or for every builder to finish (or the client to leave).</summary>
    public Task WaitFirstAsync(CancellationToken cancellationToken) => WaitQuietlyAsync(_firstOkOrAll.Task, Timeout.InfiniteTimeSpan, TimeProvider.System, cancellationToken);

    /// <summary>Waits at most <paramref name="grace"/> more for the remaining builders.</summary>
    public Task WaitAllAsync(TimeSpan grace, TimeProvider time, CancellationToken cancellationToken) => WaitQuietlyAsync(_all.Task, grace, time, cancellationToken);

    /// <summary>Outcomes finished so far, in builder order (null = still running).</summary>
    public BuilderOutcome?[] Snapshot()
    {
        var copy = new BuilderOutcome?[_outcomes.Length];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = Volatile.Read(ref _outcomes[i]);
        }

        return copy;
    }

    private static async Task WaitQuietlyAsync(Task task, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        if (task.IsCompleted)
        {
            return;
        }

        try
        {
            await task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
        }
    }
}
