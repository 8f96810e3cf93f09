namespace RpcShield.Upstreams.Heads;

/// <summary>
/// A read's `latest` pinned to the best head's number (<see cref="Block"/>). Only upstreams known
/// to be behind that block get the pinned bytes (they answer it or fail over, never older state);
/// those at or above it get the request as the client sent it, so they answer their own latest
/// state, never older than what the client may have just seen from them. Default: not pinned.
/// </summary>
internal readonly record struct PinnedBody(ReadOnlyMemory<byte> Body, long Block)
{
    public bool IsPinned => !Body.IsEmpty;

    /// <summary>True when <paramref name="upstream"/> must get the pinned bytes.</summary>
    public bool Forces(Upstreams.Upstream upstream) => IsPinned && upstream.Health.Head < Block;

    /// <summary>The bytes to send to <paramref name="upstream"/>: pinned when it is behind the block, else <paramref name="original"/>.</summary>
    public ReadOnlyMemory<byte> BodyFor(Upstreams.Upstream upstream, ReadOnlyMemory<byte> original) => Forces(upstream) ? Body : original;
}
