namespace RpcShield.Features.Caching;

/// <summary>One upstream read that identical reads arriving meanwhile wait for; null: it failed, each waiter is routed on its own.</summary>
internal sealed class InFlightRead
{
    private readonly TaskCompletionSource<SharedAnswer?> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<SharedAnswer?> Answer => _answer.Task;

    public void Complete(SharedAnswer? answer) => _answer.TrySetResult(answer);
}
