using Microsoft.Extensions.Logging;

namespace RpcShield.Upstreams.Heads;

/// <summary>A new head of one upstream (number, and hash when the source gives one).</summary>
internal sealed record HeadUpdate(string Chain, string Upstream, long Number, string? Hash, DateTimeOffset SeenAt);

/// <summary>
/// An upstream's head went backwards, changed hash at the same height, or moved on from a block
/// that is not its new head's parent: blocks from <see cref="FirstAffectedBlock"/> up may have changed.
/// </summary>
internal sealed record ReorgEvent(string Chain, string Upstream, long OldNumber, string? OldHash, long NewNumber, string? NewHash, DateTimeOffset SeenAt)
{
    /// <summary>
    /// The fork point: the lowest block whose hash differs from what the upstream showed before, found
    /// by walking the new chain's parent hashes back (bounded). Null when it was not found.
    /// </summary>
    public long? ForkBlock { get; init; }

    /// <summary>The lowest block whose content may differ from what was seen before (the fork point; without it, the lower of the two heads).</summary>
    public long FirstAffectedBlock => ForkBlock ?? Math.Min(OldNumber, NewNumber);
}

/// <summary>
/// What the head tracker publishes to the rest of the proxy (a cache evicts on <see cref="Reorged"/>,
/// a synthesised newHeads feed follows <see cref="HeadUpdated"/>). Handlers run on the tracker's
/// thread: keep them short; an exception in one is logged and does not stop the others.
/// </summary>
internal sealed partial class HeadEvents(ILogger<HeadEvents> logger)
{
    /// <summary>Raised for every reorg an upstream's heads show.</summary>
    public event Action<ReorgEvent>? Reorged;

    /// <summary>Raised for every new head of every upstream (in the order each upstream's heads arrive).</summary>
    public event Action<HeadUpdate>? HeadUpdated;

    internal void Publish(ReorgEvent reorg) => Raise(Reorged, reorg);

    internal void Publish(HeadUpdate head) => Raise(HeadUpdated, head);

    private void Raise<T>(Action<T>? handlers, T value)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action<T>)handler)(value);
            }
            catch (Exception ex)
            {
                LogHandlerFailed(ex, typeof(T).Name);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A {Event} handler failed")]
    private partial void LogHandlerFailed(Exception ex, string @event);
}
