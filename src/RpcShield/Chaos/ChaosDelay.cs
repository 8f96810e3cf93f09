namespace RpcShield.Chaos;

internal static class ChaosDelay
{
    /// <summary>
    /// Waits <paramref name="duration"/>. True when it ran to the end; false when a halt cut it
    /// short. Cancellation of <paramref name="cancellationToken"/> (client left, attempt lost) throws.
    /// </summary>
    public static async ValueTask<bool> HangAsync(TimeSpan duration, TimeProvider time, CancellationToken halt, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, halt);
        try
        {
            await Task.Delay(duration, time, linked.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (halt.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
